#!/usr/bin/env bash
# Cluster peers authenticated by mutual TLS only (no cluster token, no auth
# key): A trusts client certificates from a throwaway CA (--server-tls-root)
# and, with no --auth-* flags, admits only peers that present one. B dials A
# with a certificate from that CA (--client-tls-cert/--client-tls-key): it
# gets a cluster peer's rights, and a publisher on A (itself authenticated by
# a certificate, moqc --client-tls-cert) reaches a subscriber on B, every
# frame. C dials A with a certificate from another CA: the handshake fails
# (A logs why), C gets no peer rights and its subscriber sees nothing. D
# dials with no certificate: refused. A plain client without one: refused.
# Then E, with --server-tls-root beside --auth-key: the token path is
# unchanged (a token publisher is served, a client with neither token nor
# certificate is refused), and a certificate stands in for a token with full
# access under the URL path it dials (/room, and / as cluster peers dial).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster_lib.sh"
it_init
command -v openssl >/dev/null || it_fail_early "openssl missing (scripts/install-deps.sh installs it)"

# ---- a throwaway PKI ----
pki=$IT_TMP/pki
mkdir -p "$pki"
ossl() { openssl "$@" >>"$pki/openssl.log" 2>&1 || it_fail "openssl $1 failed: $(tail -3 "$pki/openssl.log")"; }
mk_ca() { # NAME CN
  ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -keyout "$pki/$1.key" -out "$pki/$1.pem" -subj "/CN=$2" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign
}
mk_leaf() { # NAME CN CA
  ossl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$pki/$1.key" -out "$pki/$1.csr" -subj "/CN=$2/O=moqc test"
  printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n' \
    >"$pki/$1.ext"
  ossl x509 -req -in "$pki/$1.csr" -CA "$pki/$3.pem" -CAkey "$pki/$3.key" -CAcreateserial \
    -days 1 -extfile "$pki/$1.ext" -out "$pki/$1.pem"
}
mk_ca ca "moqc cluster test CA"
mk_ca rogue-ca "someone else's CA"
mk_leaf node-b node-b ca
mk_leaf pub publisher ca
mk_leaf node-c node-c rogue-ca

PA=$(cl_port) PB=$(cl_port) PC=$(cl_port) PD=$(cl_port)
cl_start A "$PA" --cluster-id 1 --server-tls-root "$pki/ca.pem"
grep -q 'only mTLS peers' "$IT_TMP/A.err" || it_fail "A does not say it admits only mTLS peers"
cl_start B "$PB" --cluster-id 2 --cluster-connect "http://127.0.0.1:$PA/" \
  --client-tls-cert "$pki/node-b.pem" --client-tls-key "$pki/node-b.key"
cl_start C "$PC" --cluster-id 3 --cluster-connect "http://127.0.0.1:$PA/" \
  --client-tls-cert "$pki/node-c.pem" --client-tls-key "$pki/node-c.key"
cl_start D "$PD" --cluster-id 4 --cluster-connect "http://127.0.0.1:$PA/"
cl_wait_metric B moqc_relay_cluster_peers_up 1 20 || it_fail "B (trusted certificate): cluster peer not up"
it_wait_for "$IT_TMP/A.err" "mTLS peer 'O=moqc test,CN=node-b' \(full access\)" 10 ||
  it_fail "A did not log B as an mTLS peer: $(grep -i 'session\|refus' "$IT_TMP/A.err" | head -5)"

cl_sub b1 B room/b
cl_sub c1 C room/b
cl_sub d1 D room/b
it_fifo p 7
IT_STDIN=$IT_TMP/p.fifo it_bg p "$MOQC_BIN" --tls-fingerprint "$FP_A" \
  --client-tls-cert "$pki/pub.pem" --client-tls-key "$pki/pub.key" publish \
  --url "$(cl_url A)" --broadcast room/b --wait-subscriber
for n in A B; do
  cl_wait_metric "$n" moqc_relay_broadcasts 1 20 || it_fail "$n: broadcast not announced"
done
sleep 1 # the subscriber finds it
for i in $(seq 1 20); do echo "line $i" >&7; sleep 0.02; done
it_wait_lines "$IT_TMP/b1.out" 20 20 || it_fail "b1 got $(wc -l <"$IT_TMP/b1.out") of 20 lines"
cl_check_lines "$IT_TMP/b1.out" 1 20 || it_fail "b1: wrong frames: $(head -c 300 "$IT_TMP/b1.out")"
it_log "publisher on A -> subscriber on B over an mTLS-only cluster link: 20 of 20 frames"

# C's certificate is not from A's CA: the handshake fails, with a reason in A's log.
it_wait_for "$IT_TMP/A.err" 'client certificate from 127\.0\.0\.1:[0-9]+ refused: untrusted' 10 ||
  it_fail "A did not log the untrusted certificate: $(grep -i 'certif' "$IT_TMP/A.err" | head -3)"
# D presents none: refused (no token either).
it_wait_for "$IT_TMP/A.err" 'no client certificate \(only mTLS peers' 10 ||
  it_fail "A did not refuse the peer without a certificate"
# Neither ever has a session: A answers the WebTransport CONNECT and the
# WebSocket upgrade with 401, before one exists (a session refused only after
# its setup would show C and D their link up until the close came).
it_wait_for "$IT_TMP/D.err" 'CONNECT refused: unauthorized \(HTTP status 401\)' 10 ||
  it_fail "D: no 401 on the WebTransport CONNECT: $(grep -i 'cluster peer' "$IT_TMP/D.err" | tail -2)"
for n in C D; do
  it_wait_for "$IT_TMP/$n.err" 'websocket handshake refused: HTTP status 401' 10 ||
    it_fail "$n: no 401 on the WebSocket fall-back: $(grep -i 'cluster peer' "$IT_TMP/$n.err" | tail -2)"
  grep 'cluster peer .* connected' "$IT_TMP/$n.err" &&
    it_fail "$n: a cluster session came up without a trusted certificate"
  [ "$(cl_metric $n moqc_relay_cluster_peers_up)" = 0 ] || it_fail "$n: cluster peer up without a trusted certificate"
  [ "$(cl_metric $n moqc_relay_broadcasts)" = 0 ] || it_fail "$n sees A's broadcast"
done
[ ! -s "$IT_TMP/c1.out" ] || it_fail "c1 (behind the untrusted node) got frames: $(head -3 "$IT_TMP/c1.out")"
[ ! -s "$IT_TMP/d1.out" ] || it_fail "d1 (behind the node without a certificate) got frames"
grep -q 'mTLS peer .*node-c' "$IT_TMP/A.err" && it_fail "A took node-c's certificate"

# A plain client without a certificate is refused by A too.
it_bg anon "$MOQC_BIN" --tls-fingerprint "$FP_A" subscribe --url "$(cl_url A)" \
  --broadcast room/b --timeout 5s
it_wait anon 20
rc=$?
[ "$rc" != 0 ] || it_fail "a client without a certificate subscribed on A"
it_log "untrusted certificate: handshake refused; no certificate: session refused (client exit $rc)"

exec 7>&-
it_wait p 20 || it_fail "publisher exited $?"
for s in b1 c1 d1; do kill -TERM "$(it_pid $s)" 2>/dev/null; it_wait "$s" 20; done

# ---- E: mTLS beside JWT auth ----
K=$IT_TMP/key.jwk P=$IT_TMP/pub.jwk
"$MOQC_BIN" token generate --algorithm ES256 --out "$K" --public "$P" || it_fail "token generate"
T=$("$MOQC_BIN" token sign --key "$K" --root room --put "" --get "" --expires 1h) || it_fail "token sign"
PE=$(cl_port)
cl_start E "$PE" --server-tls-root "$pki/ca.pem" --auth-key "$P"
grep -q 'only mTLS peers' "$IT_TMP/E.err" && it_fail "E (with --auth-key) admits only mTLS peers"
e_url() { echo "https://127.0.0.1:$PE/${1:-}"; }
it_bg e_cert "$MOQC_BIN" --tls-fingerprint "$FP_E" --client-tls-cert "$pki/pub.pem" \
  --client-tls-key "$pki/pub.key" subscribe --url "$(e_url room)" --broadcast cam \
  --start-group 0 --wait 40s --reorder 300ms
it_bg e_root "$MOQC_BIN" --tls-fingerprint "$FP_E" --client-tls-cert "$pki/pub.pem" \
  --client-tls-key "$pki/pub.key" subscribe --url "$(e_url)" --broadcast room/cam \
  --start-group 0 --wait 40s --reorder 300ms
it_fifo q 8
IT_STDIN=$IT_TMP/q.fifo it_bg q "$MOQC_BIN" --tls-fingerprint "$FP_E" publish \
  --url "$(e_url "room?jwt=$T")" --broadcast cam --wait-subscriber
cl_wait_metric E moqc_relay_broadcasts 1 20 || it_fail "E: the token publisher's broadcast not announced"
sleep 1
for i in $(seq 1 10); do echo "line $i" >&8; sleep 0.02; done
it_wait_lines "$IT_TMP/e_cert.out" 10 20 || it_fail "e_cert (certificate, no token) got $(wc -l <"$IT_TMP/e_cert.out") of 10 lines"
cl_check_lines "$IT_TMP/e_cert.out" 1 10 || it_fail "e_cert: wrong frames"
it_wait_lines "$IT_TMP/e_root.out" 10 20 || it_fail "e_root (certificate on /, as cluster peers dial) got $(wc -l <"$IT_TMP/e_root.out") of 10 lines"
cl_check_lines "$IT_TMP/e_root.out" 1 10 || it_fail "e_root: wrong frames"
it_bg e_anon "$MOQC_BIN" --tls-fingerprint "$FP_E" subscribe --url "$(e_url room)" \
  --broadcast cam --timeout 5s
it_wait e_anon 20 && it_fail "E served a client with neither token nor certificate"
it_wait_for "$IT_TMP/E.err" "refusing .*'/room'.*token required" 5 || it_fail "E: no token refusal logged"
it_log "E: token publisher served; certificate subscribers served on /room and / without a token; anonymous refused"
exec 8>&-
it_wait q 20 || it_fail "E publisher exited $?"
for s in e_cert e_root; do kill -TERM "$(it_pid $s)" 2>/dev/null; it_wait "$s" 20; done

it_clients_clean
for n in E D C B A; do it_relay_stop "$n"; done
echo "PASS $IT_NAME"
