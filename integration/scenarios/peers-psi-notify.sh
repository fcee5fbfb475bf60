#!/bin/bash
# bench/peers: psi-notify alone on a fresh boot (peers.sh has the phases).
export PEER=psi-notify
. "$(dirname "$0")/peers.sh"
