#!/usr/bin/env bash
# @moq/lite 0.2.2 x {lite-03, lite-04} through moqc-relay: the same cases as
# test_interop_relay_net.sh (which holds the code; see its header), plus the Probe-stream trap
# (the c->js subscriber must stay usable for > 6 s: idle after connecting, then a pause
# mid-track) and @moq/net -> @moq/lite across libraries and versions.
MOQC_INTEROP_LIB=lite exec bash "$(dirname "$0")/test_interop_relay_net.sh"
