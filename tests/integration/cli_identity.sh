#!/usr/bin/env bash
# Integration test of the identity CLI (no network, no root needed):
#   ringlan keygen | group init | group sign | cert show
# Runs $RL_BUILD/ringlan (default ./build/ringlan) through the whole
# contract in docs/cli.md and checks outputs and exit codes.
# 'cond && ok || bad' is safe here: ok() always succeeds.
# shellcheck disable=SC2015
set -uo pipefail

RL_BUILD=${RL_BUILD:-./build}
BIN=$(realpath "$RL_BUILD/ringlan" 2>/dev/null || true)
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
  echo "cli_identity: no ringlan binary at $RL_BUILD/ringlan" >&2
  exit 1
fi
TMP=$(mktemp -d /tmp/rl-cli-identity.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
cd "$TMP" || exit 1

fails=0
checks=0
ok() { checks=$((checks + 1)); }
bad() { checks=$((checks + 1)); fails=$((fails + 1)); echo "FAIL: $*" >&2; }

# run WANT_RC cmd...: runs ringlan with args, output in out.txt / err.txt.
run() {
  local want=$1; shift
  "$BIN" "$@" >out.txt 2>err.txt
  local rc=$?
  if [ "$rc" -eq "$want" ]; then ok; else
    bad "ringlan $* -> exit $rc, want $want"; sed 's/^/  stderr: /' err.txt >&2
  fi
}
# has FILE REGEX [what]: the file matches an extended regex.
has() {
  if grep -Eq -- "$2" "$1"; then ok; else
    bad "${3:-$1} lacks /$2/"; sed 's/^/  | /' "$1" >&2
  fi
}
hasnt() { if grep -Eq -- "$2" "$1"; then bad "${3:-$1} has /$2/"; else ok; fi; }
mode_is() {
  local m; m=$(stat -c %a "$1")
  if [ "$m" = "$2" ]; then ok; else bad "$1 has mode $m, want $2"; fi
}

echo "== keygen"
run 0 keygen --out alice.key
id=$(cat out.txt)
[[ "$id" =~ ^[0-9a-f]{40}$ ]] && ok || bad "keygen printed '$id', want 40 hex digits"
[ -f alice.key ] && [ -f alice.pub ] && ok || bad "alice.key/alice.pub not written"
mode_is alice.key 600
has alice.key '^-----BEGIN RINGLAN NODE KEY-----$'
has alice.key "^overlay-id: $id\$"
has alice.key '^secret: [A-Za-z0-9+/]{43}=$'
has alice.pub '^-----BEGIN RINGLAN NODE PUBLIC KEY-----$'
has alice.pub "^overlay-id: $id\$"
hasnt alice.pub 'secret'
pub_line=$(grep '^public:' alice.key)
has alice.pub "^${pub_line//+/\\+}\$" "alice.pub public line"

# Refuses to overwrite keys; --force replaces them with a new identity.
cp alice.key alice.key.orig
run 1 keygen --out alice.key
has err.txt 'exists; refusing to overwrite'
cmp -s alice.key alice.key.orig && ok || bad "alice.key changed without --force"
run 0 keygen --out bob.key --name bob
bob_id=$(cat out.txt)
has bob.pub '^name: bob$'
[ "$bob_id" != "$id" ] && ok || bad "two keygens gave the same ID"
rm -f bob2.pub; touch bob2.pub
run 1 keygen --out bob2.key  # the .pub alone already exists
[ ! -e bob2.key ] && ok || bad "bob2.key written although bob2.pub existed"
run 0 keygen --out bob2.key --force
[ -s bob2.pub ] && ok || bad "bob2.pub not rewritten with --force"
run 2 keygen
run 2 keygen --out x.key --bogus
run 2 keygen --out x.key --name "bad name"

echo "== group init"
run 0 group init --name mylan --out group.key
has out.txt '^group mylan: public key [A-Za-z0-9+/]{43}=$'
mode_is group.key 600
has group.key '^-----BEGIN RINGLAN GROUP KEY-----$'
has group.pub '^-----BEGIN RINGLAN GROUP PUBLIC KEY-----$'
has group.pub '^name: mylan$'
hasnt group.pub 'secret'
run 1 group init --name mylan --out group.key
has err.txt 'refusing to overwrite'
run 2 group init --out g2.key
run 2 group init --name "my lan" --out g2.key
run 2 group init --name "$(printf 'a%.0s' {1..64})" --out g2.key
run 2 group
run 2 group frobnicate
# A second group with the same name but its own key, and a differently named one.
run 0 group init --name mylan --out impostor.key
run 0 group init --name otherlan --out other.key

echo "== group sign"
run 0 group sign --group-key group.key --pub alice.pub --ip 100.64.0.2 \
  --subring dev --subring ops --out alice.cert
has out.txt "^signed alice.cert: group mylan, vip 100.64.0.2/10, overlay-id $id"
has alice.cert '^-----BEGIN RINGLAN CERTIFICATE-----$'
has alice.cert '^vip: 100.64.0.2/10$'
has alice.cert "^overlay-id: $id\$"
has alice.cert '^subring: dev$'
has alice.cert '^subring: ops$'
has alice.cert '^not-before: [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z \([0-9]+\)$'
nb=$(sed -nE 's/^not-before: .*\(([0-9]+)\)$/\1/p' alice.cert)
na=$(sed -nE 's/^not-after: .*\(([0-9]+)\)$/\1/p' alice.cert)
now=$(date +%s)
# Default validity: 365 days from now (not-before is backdated by 1 h for clock skew).
[ $((na - now)) -ge $((365 * 86400 - 60)) ] && [ $((na - now)) -le $((365 * 86400 + 60)) ] \
  && ok || bad "not-after $na is not now+365d ($now)"
[ "$nb" -le "$now" ] && ok || bad "not-before $nb is in the future"
# Explicit prefix and --days; the secret .key also works as --pub.
run 0 group sign --group-key group.key --pub bob.key --ip 100.64.7.9/16 --days 30 --out bob.cert
has bob.cert '^vip: 100.64.7.9/16$'
hasnt bob.cert 'subring'
na=$(sed -nE 's/^not-after: .*\(([0-9]+)\)$/\1/p' bob.cert)
[ $((na - now)) -ge $((30 * 86400 - 60)) ] && [ $((na - now)) -le $((30 * 86400 + 60)) ] \
  && ok || bad "bob.cert not-after $na is not now+30d"
# Refused inputs: not a host address, malformed addresses and numbers, usage.
run 2 group sign --group-key group.key --pub alice.pub --ip 100.64.0.0 --out x.cert
has err.txt 'network address'
run 2 group sign --group-key group.key --pub alice.pub --ip 100.127.255.255/10 --out x.cert
has err.txt 'broadcast address'
run 2 group sign --group-key group.key --pub alice.pub --ip 100.64.0.300 --out x.cert
run 2 group sign --group-key group.key --pub alice.pub --ip 100.64.0.2/33 --out x.cert
run 2 group sign --group-key group.key --pub alice.pub --ip 100.64.0.2/0 --out x.cert
run 2 group sign --group-key group.key --pub alice.pub --ip 100.64.0.2 --days 0 --out x.cert
run 2 group sign --group-key group.key --pub alice.pub --ip 100.64.0.2 --days -5 --out x.cert
run 2 group sign --group-key group.key --pub alice.pub --ip 100.64.0.2 --days 1x --out x.cert
run 2 group sign --group-key group.key --pub alice.pub --ip 100.64.0.2 --subring "a b" --out x.cert
run 2 group sign --group-key group.key --pub alice.pub --ip 100.64.0.2 \
  --subring a --subring a --out x.cert
run 2 group sign --group-key group.key --pub alice.pub --ip 100.64.0.2 \
  --subring a --subring b --subring c --subring d --subring e --subring f --subring g \
  --subring h --subring i --out x.cert
run 2 group sign --group-key group.key --pub alice.pub --out x.cert
run 2 group sign --pub alice.pub --ip 100.64.0.2 --out x.cert
[ ! -e x.cert ] && ok || bad "x.cert written by a refused command"
# Wrong kinds of key files.
run 1 group sign --group-key group.key --pub group.pub --ip 100.64.0.2 --out x.cert
has err.txt 'group key, but a node key is expected'
run 1 group sign --group-key alice.key --pub alice.pub --ip 100.64.0.2 --out x.cert
has err.txt 'node key, but a group key is expected'
run 1 group sign --group-key group.pub --pub alice.pub --ip 100.64.0.2 --out x.cert
has err.txt 'public key file'
run 1 group sign --group-key missing.key --pub alice.pub --ip 100.64.0.2 --out x.cert
has err.txt 'no such file'
# A key file whose secret belongs to another key.
grep -v '^secret:' alice.key | sed '/^-----END/d' >mixed.key
grep '^secret:' bob.key >>mixed.key
echo '-----END RINGLAN NODE KEY-----' >>mixed.key
# (written with the umask: first refused as readable by others, as ssh does)
run 1 group sign --group-key group.key --pub mixed.key --ip 100.64.0.2 --out x.cert
has err.txt 'mixed.key: permissions 0644 are too open.*chmod 600 mixed.key'
chmod 600 mixed.key
run 1 group sign --group-key group.key --pub mixed.key --ip 100.64.0.2 --out x.cert
has err.txt 'secret key does not match the public key'
[ ! -e x.cert ] && ok || bad "x.cert written by a failed command"

echo "== cert show"
run 0 cert show alice.cert --group group.pub
has out.txt '^  group: +mylan$'
has out.txt "^  overlay-id: +$id\$"
has out.txt '^  vip: +100.64.0.2/10$'
has out.txt '^  subrings: +dev, ops$'
has out.txt '^  not-after: +[0-9]{4}-'
has out.txt '^  signature: +[A-Za-z0-9+/]{86}==$'
has out.txt '^  verified: '
has out.txt "^  membership: member of group 'mylan'"
run 0 cert show alice.cert
has out.txt 'membership: not checked'
run 0 cert show bob.cert --group group.key  # the secret group file also names the key
run 2 cert show
run 2 cert show alice.cert --bogus
run 2 cert show alice.cert bob.cert
run 2 cert
run 1 cert show missing.cert
# Foreign: another group's key (same name, or another name) refuses the cert.
run 1 cert show alice.cert --group impostor.pub
has err.txt 'INVALID: signed for another group'
run 1 cert show alice.cert --group other.pub
has err.txt "INVALID: belongs to group 'mylan', not 'otherlan'"
run 0 group sign --group-key impostor.key --pub alice.pub --ip 100.64.0.2 --out foreign.cert
run 0 cert show foreign.cert
run 1 cert show foreign.cert --group group.pub
has err.txt 'another group'
# Wrong kind passed as --group.
run 1 cert show alice.cert --group alice.pub
has err.txt 'node key, but a group key is expected'
# Tampered certificates: a changed field, a changed signature, an extra subring.
sed 's/^vip: 100.64.0.2\/10$/vip: 100.64.0.3\/10/' alice.cert >t1.cert
cmp -s alice.cert t1.cert && bad "tampering t1 changed nothing" || ok
run 1 cert show t1.cert --group group.pub
has err.txt 'INVALID: bad signature'
run 1 cert show t1.cert
has err.txt 'INVALID: bad signature'
sig=$(sed -n 's/^signature: //p' alice.cert)
first=${sig:0:1}; [ "$first" = A ] && repl=B || repl=A
sed "s|^signature: .|signature: $repl|" alice.cert >t2.cert
run 1 cert show t2.cert --group group.pub
has err.txt 'INVALID: bad signature'
sed 's/^subring: ops$/subring: ops\nsubring: admin/' alice.cert >t3.cert
run 1 cert show t3.cert --group group.pub
has err.txt 'INVALID: bad signature'
# Malformed files: a clear reason with the line number.
sed 's/^vip: .*/vip: 100.64.0.2/' alice.cert >m1.cert
run 1 cert show m1.cert
has err.txt "m1.cert: line 7: 'vip' must be"
head -n 5 alice.cert >m2.cert
run 1 cert show m2.cert
has err.txt 'missing .-----END RINGLAN CERTIFICATE-----. line'
run 1 cert show alice.key
has err.txt "this is a 'NODE KEY', not a certificate"
head -c 3000 /dev/urandom >m3.cert
run 1 cert show m3.cert
# Expired and not yet valid (from --not-before).
run 0 group sign --group-key group.key --pub alice.pub --ip 100.64.0.2 \
  --not-before 1600000000 --days 1 --out old.cert
has old.cert '^not-before: 2020-09-13T12:26:40Z \(1600000000\)$'
has old.cert '^not-after: 2020-09-14T12:26:40Z \(1600086400\)$'
run 1 cert show old.cert --group group.pub
has err.txt 'INVALID: expired on 2020-09-14T12:26:40Z'
run 0 group sign --group-key group.key --pub alice.pub --ip 100.64.0.2 \
  --not-before $((now + 10 * 86400)) --out future.cert
run 1 cert show future.cert --group group.pub
has err.txt 'INVALID: not valid before'

echo "== group revoke"
run 0 group revoke --group-key group.key --cert alice.cert --out alice.rev
has out.txt "^revoked alice.rev: group mylan, overlay-id $id\$"
has alice.rev '^-----BEGIN RINGLAN REVOCATION-----$'
has alice.rev "^overlay-id: $id\$"
has alice.rev '^revoked-at: [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z \([0-9]+\)$'
mode_is alice.rev 644
run 0 group revoke --group-key group.key --id "$id" --out alice2.rev
has alice2.rev "^overlay-id: $id\$"
run 2 group revoke --group-key group.key --cert alice.cert --id "$id" --out x.rev
run 2 group revoke --group-key group.key --out x.rev
run 2 group revoke --group-key group.key --id 00ff --out x.rev
has err.txt "bad --id '00ff'"
run 2 group revoke --cert alice.cert --out x.rev
run 1 group revoke --group-key alice.key --cert alice.cert --out x.rev
has err.txt 'node key, but a group key is expected'
run 1 group revoke --group-key group.key --cert alice.pub --out x.rev
has err.txt 'not a certificate'
[ ! -e x.rev ] && ok || bad "x.rev written by a refused command"
# ringlan revoke reads the file before it asks a daemon: a certificate is
# not a revocation; a revocation with no daemon running is exit 1.
run 1 revoke alice.cert --control ./nosock
has err.txt 'not a revocation'
run 1 revoke alice.rev --control ./nosock
has err.txt 'no ringlan daemon'
run 2 revoke --control ./nosock

echo "== $checks checks, $fails failed"
[ "$fails" -eq 0 ]
