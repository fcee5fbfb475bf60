#!/bin/bash
# bench/peers: earlyoom alone on a fresh boot (peers.sh has the phases).
export PEER=earlyoom
. "$(dirname "$0")/peers.sh"
