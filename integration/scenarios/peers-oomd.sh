#!/bin/bash
# bench/peers: oomd alone on a fresh boot (peers.sh has the phases).
export PEER=oomd
. "$(dirname "$0")/peers.sh"
