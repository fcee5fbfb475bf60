#!/bin/bash
# bench/peers: memwarden alone on a fresh boot (peers.sh has the phases).
export PEER=memwarden
. "$(dirname "$0")/peers.sh"
