# Helpers for tests/integration/test_cluster_*.sh (source after lib.sh).
#
#   cl_port                          a free port (UDP and TCP get the same number)
#   cl_start NAME PORT [flags]       a moqc-relay on 127.0.0.1:PORT, its log $IT_TMP/NAME.err;
#                                    sets PORT_<NAME>; every node gets --idle-timeout 2s
#   cl_url NAME [path]               http://127.0.0.1:PORT/path (certificate bootstrap)
#   cl_metric NAME METRIC            the value of an unlabelled metric of node NAME
#   cl_wait_metric NAME METRIC VALUE SECONDS
#   cl_upstream NAME                 tracks NAME subscribes upstream: from publishers and
#                                    inbound peers + from dialed peers
#   cl_fp NAME                       the node's certificate fingerprint
#   cl_sub NAME NODE BROADCAST       a subscriber (every frame, from group 0)
#   cl_check_lines FILE FIRST LAST   FILE has exactly "line FIRST" .. "line LAST"

cl_port() {
  local p
  for _ in 1 2 3 4 5 6 7 8; do
    p=$(it_free_port)
    ! (ss -Hlun "sport = :$p" 2>/dev/null; ss -Hltn "sport = :$p" 2>/dev/null) | grep -q . && break
  done
  echo "$p"
}

cl_start() {
  local name=$1 port=$2
  shift 2
  IT_RELAY_NAME=$name it_relay_start --bind "127.0.0.1:$port" --idle-timeout 2s "$@"
  eval "PORT_$name=$port"
  eval "FP_$name=$FP"
}

cl_url() { local v="PORT_$1"; echo "http://127.0.0.1:${!v}/${2:-}"; }
cl_fp() { local v="FP_$1"; echo "${!v}"; }

cl_metrics() { local v="PORT_$1"; curl -s --max-time 5 "http://127.0.0.1:${!v}/metrics"; }
cl_metric() { cl_metrics "$1" | awk -v m="$2" '$1 == m { print $2 }'; }

cl_wait_metric() {
  local name=$1 m=$2 want=$3 secs=$4 i=0
  until [ "$(cl_metric "$name" "$m")" = "$want" ]; do
    i=$((i + 1))
    [ "$i" -gt $((secs * 10)) ] && return 1
    sleep 0.1
  done
}

cl_upstream() {
  local a b
  a=$(cl_metric "$1" moqc_relay_upstream_tracks)
  b=$(cl_metric "$1" moqc_relay_cluster_upstream_tracks)
  echo $((${a:-0} + ${b:-0}))
}

cl_nodes() { local v="PORT_$1"; curl -s --max-time 5 "http://127.0.0.1:${!v}/nodes"; }

cl_sub() {
  local name=$1 node=$2 bc=$3
  it_bg "$name" "$MOQC_BIN" --tls-fingerprint "$(cl_fp "$node")" subscribe \
    --url "$(cl_url "$node")" --broadcast "$bc" --start-group 0 --wait 40s --reorder 300ms
}

cl_check_lines() {
  local file=$1 first=$2 last=$3
  [ "$(cat "$file")" = "$(seq "$first" "$last" | sed 's/^/line /')" ]
}
