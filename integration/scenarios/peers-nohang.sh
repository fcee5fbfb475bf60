#!/bin/bash
# bench/peers: nohang alone on a fresh boot (peers.sh has the phases).
export PEER=nohang
. "$(dirname "$0")/peers.sh"
