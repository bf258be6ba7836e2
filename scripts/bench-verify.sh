#!/usr/bin/env bash
# Benchmark `yardstick verify` against the peer tools on the same evidence, in the same run:
#   snp: yardstick verify snp          vs  openssl verify (ARK/ASK/VCEK chain) + openssl dgst (report signature)
#   tpm: yardstick verify tpm          vs  tpm2_checkquote (a fresh swtpm quote, ECDSA P-256 AK)
# Prints the time per verification and the ratio yardstick/peer (below 1 = yardstick faster). Verification
# is one process per piece of evidence, so this measures what a relying party's script pays per call.
#
# Usage: scripts/bench-verify.sh [ITERATIONS]    (env: YARDSTICK_FIXTURES, default tests/fixtures)
set -euo pipefail

N=${1:-200}
root=$(cd "$(dirname "$0")/.." && pwd)
fixtures=${YARDSTICK_FIXTURES:-$root/tests/fixtures}
tmp=$(mktemp -d)
swtpm_pid=
cleanup() {
  [ -n "$swtpm_pid" ] && kill "$swtpm_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

cargo build --release -q -p yardstick --manifest-path "$root/Cargo.toml"
Y=$root/target/release/yardstick

# Seconds for N runs of a command (its output discarded; it must succeed).
timed() {
  local start end
  start=$(date +%s.%N)
  for _ in $(seq "$N"); do "$@" >/dev/null 2>&1; done
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}

report() {
  local name=$1 ours=$2 peer=$3
  printf '%-4s yardstick %7.2f ms/verify   peer %7.2f ms/verify   ratio %.2f\n' "$name" \
    "$(echo "$ours * 1000 / $N" | bc -l)" "$(echo "$peer * 1000 / $N" | bc -l)" "$(echo "$ours / $peer" | bc -l)"
}

# --- SEV-SNP: the Milan report of virtee/sev's test data ---
r=$fixtures/snp-reports
k=$fixtures/amd-kds/milan
openssl x509 -inform der -in "$r/vcek_milan.der" -out "$tmp/vcek.pem"
openssl x509 -in "$tmp/vcek.pem" -pubkey -noout -out "$tmp/vcek-pub.pem"
python3 - "$r/report_milan.hex" "$tmp" <<'PY'
import sys
rep = bytes.fromhex(open(sys.argv[1]).read().strip())
open(sys.argv[2] + "/signed.bin", "wb").write(rep[:0x2a0])
def integer(le):
    be = le[::-1].lstrip(b"\0")
    if be[0] >= 0x80:
        be = b"\0" + be
    return bytes([2, len(be)]) + be
body = integer(rep[0x2a0:0x2a0 + 72]) + integer(rep[0x2a0 + 72:0x2a0 + 144])
open(sys.argv[2] + "/sig.der", "wb").write(bytes([0x30, len(body)]) + body)
PY
snp_peer() {
  openssl verify -CAfile "$k/ark.pem" -untrusted "$k/ask.pem" "$tmp/vcek.pem" &&
    openssl dgst -sha384 -verify "$tmp/vcek-pub.pem" -signature "$tmp/sig.der" "$tmp/signed.bin"
}
snp_peer >/dev/null
"$Y" verify snp --report "$r/report_milan.hex" --vcek "$r/vcek_milan.der" --ask "$k/ask.pem" --ark "$k/ark.pem" >/dev/null
ours=$(timed "$Y" verify snp --report "$r/report_milan.hex" --vcek "$r/vcek_milan.der" --ask "$k/ask.pem" --ark "$k/ark.pem")
peer=$(timed snp_peer)
report snp "$ours" "$peer"

# --- TPM: a quote from a private swtpm on loopback ---
port=$(python3 -c 'import socket
for _ in range(50):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]
    t = socket.socket()
    try:
        t.bind(("127.0.0.1", p + 1)); print(p); break
    except OSError: pass
    finally: s.close(); t.close()')
mkdir -p "$tmp/tpm"
swtpm socket --tpm2 --flags not-need-init --tpmstate dir="$tmp/tpm" \
  --server type=tcp,port="$port",bindaddr=127.0.0.1 --ctrl type=tcp,port=$((port + 1)),bindaddr=127.0.0.1 &
swtpm_pid=$!
export TPM2TOOLS_TCTI=swtpm:host=127.0.0.1,port=$port
for _ in $(seq 100); do tpm2_startup -c 2>/dev/null && break; sleep 0.05; done
cd "$tmp"
tpm2_createek -c ek.ctx -G rsa -u ek.pub >/dev/null && tpm2_flushcontext -t
tpm2_createak -C ek.ctx -c ak.ctx -G ecc -g sha256 -s ecdsa -u ak.pub >/dev/null && tpm2_flushcontext -t
tpm2_quote -c ak.ctx -q 0123456789abcdef -l sha256:0,1,2,3,4,5,6,7 -m q.msg -s q.sig -o q.pcrs >/dev/null
kill "$swtpm_pid"; swtpm_pid=
ours=$(timed "$Y" verify tpm --quote q.msg --signature q.sig --ak ak.pub --pcrs q.pcrs --nonce 0123456789abcdef)
peer=$(timed tpm2_checkquote -u ak.pub -m q.msg -s q.sig -f q.pcrs -g sha256 -q 0123456789abcdef)
report tpm "$ours" "$peer"
echo "load: $(uptime)"
