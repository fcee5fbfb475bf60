#!/bin/bash
# bench/peers: systemd-oomd alone on a fresh boot (peers.sh has the phases).
export PEER=systemd-oomd
. "$(dirname "$0")/peers.sh"
