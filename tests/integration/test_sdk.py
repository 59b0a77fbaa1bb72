#!/usr/bin/env python3
"""ctest entry for the JS SDK conformance test: runs tests/sdk/run.sh BUILD_DIR.

run.sh prints SKIPPED and exits 0 when node/npm or the npm registry are unavailable.
"""
import argparse
import os
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--build-dir", required=True)
a = ap.parse_args()
here = os.path.dirname(os.path.abspath(__file__))
script = os.path.join(here, "..", "sdk", "run.sh")
sys.stdout.flush()
os.execvp("bash", ["bash", script, os.path.abspath(a.build_dir)])
