#!/usr/bin/env bash
# Gradescope autograder image setup (runs once, when the autograder is built).
#
# The autograder zip holds this course (the instructor's copy: solutions/ and tests/NN_name/
# included) with grading/gradescope/setup.sh and grading/gradescope/run_autograder copied to the
# zip's top level, where Gradescope looks for them (see README.md, "Grading"). Gradescope unpacks it
# into /autograder/source. Choose the Ubuntu 24.04 base image (GCC 13, CMake 3.28); on an older
# image CMake >= 3.25 comes from pip.
set -euo pipefail
source_dir=${AUTOGRADER_ROOT:-/autograder}/source
cd "$source_dir"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  g++ cmake ninja-build pkg-config git python3-pip \
  libcli11-dev libfmt-dev nlohmann-json3-dev libgtest-dev libgmock-dev \
  libopenblas-dev liblapacke-dev zlib1g-dev libssl-dev libcurl4-openssl-dev libelf-dev bubblewrap
# bubblewrap isolates each test where the container allows namespaces; where it does not, tito
# grades with --isolation process (tests run as nobody) and flags every result for review.
cmake_version=$(cmake --version | head -n1 | sed -E 's/.* ([0-9]+\.[0-9]+).*/\1/')
if [[ $(printf '%s\n3.25\n' "$cmake_version" | sort -V | head -n1) != 3.25 ]]; then
  python3 -m pip install --break-system-packages 'cmake>=3.25' 2>/dev/null \
    || python3 -m pip install 'cmake>=3.25'
  hash -r
fi

# tito, built once into the image.
cmake -S . -B build/autograder -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DTINYTORCH_STUDENT_MODULES=none -DTINYTORCH_BUILD_TESTS=OFF
cmake --build build/autograder --target tito

# Warm the grading cache: grading the course's own stubs builds the scratch build tree and every
# reference suite now, so that a student's run recompiles only the student's files.
build/autograder/bin/tito grade --submission modules --format json --out /tmp/warmup.json \
  --cache build/grade --jobs "$(nproc)" --quiet
echo "setup.sh: autograder ready ($(grep -c '"module":' /tmp/warmup.json) modules warmed up)"
