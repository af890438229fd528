#!/bin/sh
# Packages the benchmark suite needs on top of scripts/install-deps.sh
# (Debian 12): the side-by-side peers and the profilers.
#   nginx-light + libnginx-mod-rtmp  live fan-out peer (RTMP over TCP)
#   ffmpeg                           encodes the test FLV and publishes it
#   nats-server                      message-bus peer (scenario 5)
#   openssl                          certificate for nats-server TLS
#   valgrind, linux-perf             profiles of missed targets
# Idempotent; needs root (or sudo). Does not start any service.
set -eu
PKGS="nginx-light libnginx-mod-rtmp ffmpeg nats-server openssl valgrind linux-perf procps"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && { echo "bench deps: all installed"; exit 0; }
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# policy-rc.d keeps the nginx package from starting a system nginx on :80.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends $missing
echo "bench deps: installed$missing"
