#!/bin/bash
# bench/peers: low-memory-monitor alone on a fresh boot (peers.sh has the phases).
export PEER=low-memory-monitor
. "$(dirname "$0")/peers.sh"
