# Everything a fresh machine needs, from the project's own files.
#   make demo       set up, then run the headless lip-sync batch on the bundled demo face
#   make test       set up, then run every test layer
#   make extension  build dist/lipsync-<version>.zip for Blender 4.2+
PYTHON ?= python3
VENV   := .venv
VPY    := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
OUT    := out
# Where fetched encoders live (shared across clones so CI and users fetch once).
export LIPSYNC_CACHE ?= $(HOME)/.cache/lipsync

.PHONY: setup encoder demo test test-unit extension bench corpus train evaluate clean

$(STAMP): requirements.txt requirements-dev.txt requirements-train.txt
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --disable-pip-version-check \
	    -r requirements-dev.txt -r requirements-train.txt
	touch $@

setup: $(STAMP)

encoder: $(STAMP)
	$(VPY) -m inference fetch-encoder

test: $(STAMP) encoder
	$(VPY) -m pytest -q

test-unit: $(STAMP)
	$(VPY) -m pytest -q tests/unit

extension: $(STAMP)
	$(VPY) scripts/build_extension.py --out dist

bench: $(STAMP) encoder
	$(VPY) -m inference bench

clean:
	rm -rf $(OUT) dist
