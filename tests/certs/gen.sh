#!/bin/sh
# Regenerates the test certificates of the CT-K8S-009 fixtures with fixed validity dates
# (`openssl ca -startdate/-enddate`, so neither the clock nor faketime matters). Keys are
# throwaway EC P-256 keys made in a temporary folder and never kept: the fixtures' tls.key
# values are placeholders. Certificates differ per run (keys, signatures); dates do not.
#
#   sh tests/certs/gen.sh        # from the repository root; writes tests/certs/*.pem
set -eu
out=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
mkdir newcerts
: > index.txt
echo 1000 > serial
cat > ca.cnf <<'CNF'
[ ca ]
default_ca = CA_default
[ CA_default ]
dir = .
database = index.txt
new_certs_dir = newcerts
serial = serial
default_md = sha256
policy = policy_any
unique_subject = no
email_in_dn = no
[ policy_any ]
organizationName = optional
commonName = supplied
[ v3_ca ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ v3_leaf ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:$ENV::CN
CNF

key() { openssl ecparam -name prime256v1 -genkey -noout -out "$1.key" 2>/dev/null; }

# sign NAME CN ISSUER EXT START END: ISSUER "self" makes a root
sign() {
  key "$1"
  openssl req -new -key "$1.key" -subj "/O=Example/CN=$2" -out "$1.csr"
  if [ "$3" = self ]; then
    set -- "$@" -selfsign -keyfile "$1.key"
  else
    set -- "$@" -cert "$3.pem" -keyfile "$3.key"
  fi
  name=$1 cn=$2 ext=$4 start=$5 end=$6
  shift 6
  CN=$cn openssl ca -batch -notext -config ca.cnf -extensions "$ext" \
    -startdate "$start" -enddate "$end" -in "$name.csr" -out "$name.pem" "$@" 2>/dev/null
}

sign root "Example Root CA" self v3_ca 20240101000000Z 20340101000000Z
sign inter "Example Intermediate CA" root v3_ca 20250101000000Z 20300101000000Z
sign inter-short "Example Intermediate CA 2" root v3_ca 20250101000000Z 20260630000000Z

# leaf NAME CN ISSUER START END: writes NAME.pem as the chain leaf + intermediate
leaf() {
  sign "$1" "$2" "$3" v3_leaf "$4" "$5"
  cat "$1.pem" "$3.pem" > "$out/$1.pem"
}

# expired on 2026-03-01
leaf expired shop.example.com inter 20251201000000Z 20260301000000Z
# 90 days, as cert-manager issues by default: renewal due 2026-03-02
leaf cm-90d shop.example.com inter 20260101000000Z 20260401000000Z
# three days, cert-manager issued: renewal due 2026-03-20
leaf cm-3d shop.example.com inter 20260318000000Z 20260321000000Z
# valid all of 2026
leaf healthy shop.example.com inter 20260101000000Z 20261231000000Z
# valid all of 2026, but its intermediate ends 2026-06-30
leaf short-inter shop.example.com inter-short 20260101000000Z 20261231000000Z
# not valid before 2026-04-01 (issued by a CA whose clock ran ahead), captured 2026-03-19
leaf not-yet-valid shop.example.com inter 20260401000000Z 20260701000000Z
