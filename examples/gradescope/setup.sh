#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image. The autograder
# zip holds, at its top level: this file, run_autograder, and a copy of the grader project in
# grader-src/ (the folder with pyproject.toml). Optionally data/ with real datasets.
set -euo pipefail

SOURCE=/autograder/source
VENV=/autograder/venv

apt-get update
apt-get install -y --no-install-recommends python3 python3-pip python3-venv

python3 -m venv "$VENV"
"$VENV/bin/pip" install --upgrade pip
"$VENV/bin/pip" install "$SOURCE/grader-src"

# Fail the image build now, not every submission later, if the grader does not start.
"$VENV/bin/grade" list
