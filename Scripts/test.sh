#!/usr/bin/env bash
# Sets up the machine (system packages), builds debug (with tests) and the release svia, runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/setup.sh
[ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH"
swift build --build-tests
# The release binary: the hostile-file tests (HostileFileTests) run it, since release is what users run.
swift build -c release --product svia
# The heavy diffusion CLI tests run the release binary just built (ReleaseCLI.forHeavyRuns).
# Tests run one at a time: the engine sets OpenBLAS's global thread count around the GEMMs of its parallel loops,
# and two in-process engine users at once (parallel tests) can then race inside OpenBLAS (seen as a wrong SegFormer
# batch result under load). svia itself runs one pipeline per process.
SVIA_TEST_RELEASE=1 swift test --skip-build --no-parallel "$@"
