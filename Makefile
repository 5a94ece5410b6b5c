# Two commands do all set-up on a fresh machine:
#   make demo   - builds .venv, converts the model, runs vbg on the bundled sample (results in out/)
#   make test   - builds .venv, adds the test extras and system packages, then runs the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# Offline machines: use the project's shared copy of the official weights when it exists
# (otherwise vbg downloads them with gdown into ~/.cache/vbg).
SHARED_WEIGHTS := $(abspath ../shared/models)
ifneq ($(wildcard $(SHARED_WEIGHTS)/u2netp.pth),)
export VBG_WEIGHTS_DIR ?= $(SHARED_WEIGHTS)
endif
# One model cache for the demo, the tests and every later `vbg` command: vbg's own default ($VBG_CACHE_DIR or
# ~/.cache/vbg), so what `make demo` prepares is not prepared again by the first direct run.

.PHONY: demo test venv system-deps bench train labels train-people ship-ir clean

$(BIN)/vbg: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first, pinned: the local CPU wheel (see pyproject.toml)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e .
	touch $@

# the test extras (pytest, hypothesis): only `make test` needs them
$(VENV)/.test-extras: $(BIN)/vbg
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

venv: $(BIN)/vbg

# Xvfb, xdotool and ImageMagick's `import` for the window tests (a real X server, keys, screenshots), and
# Chromium for the control page's browser test (driven by Playwright; no `playwright install` download).
# Installed only when missing, and only as root.
system-deps:
	@if ! command -v Xvfb >/dev/null || ! command -v xdotool >/dev/null || ! command -v import >/dev/null \
	    || ! command -v chromium >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xvfb x11-apps x11-utils xdotool imagemagick chromium >/dev/null; \
	  else echo "note: install xvfb, x11-apps, imagemagick and chromium (apt) to run the window and control page tests"; fi; \
	fi
	@# the camera VM (vivid + v4l2loopback in QEMU) for tests/test_camera_vm.py; idempotent, ~100 s the first time
	@if [ -f $(V4L2VM)/install.sh ]; then \
	  if [ "$$(id -u)" = 0 ]; then bash $(V4L2VM)/install.sh >/dev/null; \
	  else echo "note: run sudo bash $(V4L2VM)/install.sh to run the camera VM tests"; fi; \
	fi

demo: venv
	mkdir -p out
	$(BIN)/vbg run samples/person_720p.mp4 -o out/demo.mp4 -y --background samples/background_beach.jpg
	$(BIN)/vbg image samples/person.jpg -o out/person_beach.png -y --background samples/background_beach.jpg \
	  --mask-out out/person_mask.png --figure-out out/person_figure.png
	@echo "demo written to out/: demo.mp4 (video with audio), person_beach.png, person_mask.png, person_figure.png"

V4L2VM ?= $(abspath ../shared/v4l2vm)

test: $(VENV)/.test-extras system-deps
	$(BIN)/python -m pytest -q

# REFERENCE: the official U2NETP maps, for the MAE columns of the official weights (skipped when the folder is absent)
REFERENCE ?= $(abspath ../shared/testdata/u2netp_reference)
bench: venv
	$(BIN)/vbg bench $(if $(wildcard $(REFERENCE)/images),--model u2net_lite --reference $(REFERENCE)) --out out/bench
	$(BIN)/python benchmarks/bench_baseline.py
	$(BIN)/python benchmarks/bench_model.py
	$(BIN)/python benchmarks/bench_pipeline.py

# The person weights (vbg/assets/u2netp_person.pth): fine-tune the official U2NETP on the person folders.
# About 3.5 hours for stages 1-3 on 2 cores with AVX512-BF16, 1.6 hours for stage 4 (three 31-minute runs) on an
# AMX Xeon; RESUME=1 continues an interrupted run.
PERSONS ?= $(abspath ../shared/persons)
# the shipped recipe (docs/training.md): stage 1 from the official weights; stages 2 and 3 portrait-weighted,
# each from the one before, at lower learning rates; stage 4 three runs from stage 3 with video people and
# people-free scenes, averaged
STAGE4 = --data $(PERSONS)/eg1800_train:2 --data $(PERSONS)/ccp_fullbody --data $(PERSONS)/davis2016/people:2 \
  --data $(PERSONS)/davis2016/negatives:2 --backgrounds $(PERSONS)/backgrounds --init out/train/stage3/weights.pth \
  --epochs 1 --lr 2e-5 --groups 0 --crowds 0.1
train: venv
	$(BIN)/vbg train --data $(PERSONS)/eg1800_train --data $(PERSONS)/ccp_fullbody \
	  --backgrounds $(PERSONS)/backgrounds --out out/train/stage1 \
	  $(if $(RESUME),$$([ -f out/train/stage1/last.pt ] && echo --resume))
	$(BIN)/vbg train --data $(PERSONS)/eg1800_train:2 --data $(PERSONS)/ccp_fullbody \
	  --backgrounds $(PERSONS)/backgrounds --init out/train/stage1/weights.pth --out out/train/stage2 \
	  --epochs 3 --lr 3e-5 --composite 0.35 --seed 4 \
	  $(if $(RESUME),$$([ -f out/train/stage2/last.pt ] && echo --resume))
	$(BIN)/vbg train --data $(PERSONS)/eg1800_train:3 --data $(PERSONS)/ccp_fullbody \
	  --backgrounds $(PERSONS)/backgrounds --init out/train/stage2/weights.pth --out out/train/stage3 \
	  --epochs 2 --lr 2e-5 --composite 0.35 --seed 5 \
	  $(if $(RESUME),$$([ -f out/train/stage3/last.pt ] && echo --resume))
	$(BIN)/vbg train $(STAGE4) --seed 9 --out out/train/stage4a \
	  $(if $(RESUME),$$([ -f out/train/stage4a/last.pt ] && echo --resume))
	$(BIN)/vbg train $(STAGE4) --seed 9 --composite 0.3 --out out/train/stage4b \
	  $(if $(RESUME),$$([ -f out/train/stage4b/last.pt ] && echo --resume))
	$(BIN)/vbg train $(STAGE4) --seed 10 --composite 0.4 --out out/train \
	  $(if $(RESUME),$$([ -f out/train/last.pt ] && echo --resume))
	$(BIN)/vbg train $(STAGE4) --seed 10 --composite 0.4 --out out/train --resume \
	  --average-with out/train/stage4a/last.pt --average-with out/train/stage4b/last.pt

# The teacher's labels (vbg/train/labels.py): Robust Video Matting run offline on the person photos (about 0.8 s an
# image per core: 2293 photos in about 20 minutes on 2 cores), merged with the human masks by the truth rule of
# docs/person-model.md, into out/labels/<folder>/{images,masks}; a cut run resumes where it stopped
TEACHER ?= $(abspath ../shared/teacher)
labels: venv
	mkdir -p out/teacher
	[ -d out/teacher/rvm/node_modules ] || (rm -rf out/teacher/rvm && cp -r $(TEACHER) out/teacher/rvm && \
	  cd out/teacher/rvm && npm install --no-audit --no-fund)
	$(BIN)/python -m vbg.train.labels --persons $(PERSONS) --teacher out/teacher/rvm --out out/labels
	$(BIN)/python -m vbg.train.objects --scenes $(PERSONS)/davis2016/negatives --out out/labels/objects \
	  --weights $(abspath ../shared/models/u2netp.pth)

# Stage 5 (docs/training.md): several people, whole bodies and motion, from the shipped weights, on the teacher's
# labels; CPU runs stop after MINUTES (default 75) with a checkpoint, and RESUME=1 goes on from it
LABELS = out/labels
STAGE5 = --data $(LABELS)/eg1800_train:2 --data $(LABELS)/ccp_fullbody --data $(PERSONS)/davis2016/people:2 \
  --data $(PERSONS)/davis2016/negatives:2 --data $(LABELS)/davis_pool:2 --data $(LABELS)/photos:3 \
  --backgrounds $(PERSONS)/backgrounds --init vbg/assets/u2netp_person.pth \
  --epochs 2 --lr 3e-5 --groups 0.2 --portrait-groups 0.05 --crowds 0 --seed 11
MINUTES ?= 75
# Stage 6, tried (docs/training.md): stage 5 with people beside the things of the people-free scenes
# (vbg/train/objects.py), which stay background: `make train-people STAGE=6`
STAGE6 = $(STAGE5) --objects $(LABELS)/objects --beside 0.3
# Stage 7, tried (docs/training.md): the human-labelled folders with the DAVIS pool and made groups, the real
# photos scored, not trained on: `make train-people STAGE=7`
STAGE7 = --data $(LABELS)/eg1800_train:2 --data $(LABELS)/ccp_fullbody --data $(PERSONS)/davis2016/people:2 \
  --data $(PERSONS)/davis2016/negatives:2 --data $(LABELS)/davis_pool:2 --score $(LABELS)/photos \
  --backgrounds $(PERSONS)/backgrounds --init vbg/assets/u2netp_person.pth \
  --epochs 3 --lr 3e-5 --groups 0.15 --portrait-groups 0.1 --crowds 0 --seed 11
STAGE ?= 5
train-people: labels
	$(BIN)/vbg train $(STAGE$(STAGE)) --out out/train/stage$(STAGE) --minutes $(MINUTES) \
	  $(if $(RESUME),$$([ -f out/train/stage$(STAGE)/last.pt ] && echo --resume))

# After the bundled weights change (make train): the backbones that ship with them (vbg/assets/ir), converted and
# quantised as a first use would; tests/test_model.py checks that they match the weights.
ship-ir: venv
	$(BIN)/python -m vbg.model.shipped

clean:
	rm -rf $(VENV) .cache out
