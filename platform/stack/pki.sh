#!/usr/bin/env bash
# pki.sh RUNDIR [names...]
#
# The stack's private PKI and secrets, made with the host openssl CLI:
#   RUNDIR/pki/ca.pem, ca.key          ECDSA P-256 CA, 10 years
#   RUNDIR/pki/<name>.pem, <name>.key  ECDSA P-256 server leaf signed by the CA,
#                                      SANs localhost, 127.0.0.1, <name>
#   RUNDIR/pki/ffdhe2048.pem           RFC 7919 group as DH PARAMETERS (Kore's tls_dhparam)
#   RUNDIR/secrets/*                   api_key, service_token, identity_* (one
#                                      per calling service), db_* passwords
#   RUNDIR/signing/                    the image signing key (GPG, RSA 3072,
#                                      no passphrase, like the TLS keys): gnupg/
#                                      holds it (0700), image-signing.gpg is
#                                      its public key (lib.sh, image_trust)
# Idempotent: a file that exists and is still valid is kept; an invalid or
# nearly expired one (and every leaf of a replaced CA) is made again.
# Keys are 0600, certificates 0644. Nothing secret is printed.

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

R=$(rundir "${1:-}")
shift
NAMES=${*:-$SERVICE_NAMES}
P="$R/pki"
mkdir -p "$P"
chmod 0755 "$P"

# Serialise concurrent runs (build.sh and make up may race).
exec 9>"$P/.lock"
flock 9

MIN_LEFT=$((30 * 86400))	# renew what expires within 30 days

newkey() {
	(umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	    -pkeyopt ec_param_enc:named_curve -out "$1")
}

# pair_ok CERT KEY: both exist, the key belongs to the cert, not expiring.
pair_ok() {
	[ -s "$1" ] && [ -s "$2" ] || return 1
	openssl x509 -in "$1" -noout -checkend "$MIN_LEFT" >/dev/null 2>&1 || return 1
	[ "$(openssl x509 -in "$1" -noout -pubkey 2>/dev/null)" = \
	  "$(openssl pkey -in "$2" -pubout 2>/dev/null)" ]
}

serial() { printf '0x%s' "$(openssl rand -hex 16)"; }

# --- CA ---------------------------------------------------------------
if ! pair_ok "$P/ca.pem" "$P/ca.key"; then
	log "creating CA"
	newkey "$P/ca.key.tmp"
	openssl req -new -x509 -key "$P/ca.key.tmp" -sha256 -days 3650 \
	    -set_serial "$(serial)" -subj "/O=crm-supply/CN=crm-supply CA" \
	    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
	    -addext "keyUsage=critical,keyCertSign,cRLSign" \
	    -addext "subjectKeyIdentifier=hash" \
	    -out "$P/ca.pem.tmp"
	mv "$P/ca.key.tmp" "$P/ca.key"
	mv "$P/ca.pem.tmp" "$P/ca.pem"
fi
chmod 0600 "$P/ca.key"
chmod 0644 "$P/ca.pem"

# --- leaves -----------------------------------------------------------
leaf_ok() {
	local n="$1"
	pair_ok "$P/$n.pem" "$P/$n.key" || return 1
	openssl verify -CAfile "$P/ca.pem" "$P/$n.pem" >/dev/null 2>&1 || return 1
	# The SANs must still be the ones we promise (contract §2).
	openssl x509 -in "$P/$n.pem" -noout -ext subjectAltName 2>/dev/null |
	    grep -q "DNS:localhost, IP Address:127.0.0.1, DNS:$n\$"
}

for n in $NAMES; do
	case "$n" in
	*[!a-z0-9-]*|"") die "bad service name: $n" ;;
	esac
	leaf_ok "$n" && continue
	log "creating certificate for $n"
	ext=$(mktemp)
	cat >"$ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,DNS:$n
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EXT
	newkey "$P/$n.key.tmp"
	openssl req -new -key "$P/$n.key.tmp" -subj "/O=crm-supply/CN=$n" |
	    openssl x509 -req -CA "$P/ca.pem" -CAkey "$P/ca.key" -sha256 \
	    -days 825 -set_serial "$(serial)" -extfile "$ext" \
	    -out "$P/$n.pem.tmp" 2>/dev/null
	rm -f "$ext"
	mv "$P/$n.key.tmp" "$P/$n.key"
	mv "$P/$n.pem.tmp" "$P/$n.pem"
	chmod 0600 "$P/$n.key"
	chmod 0644 "$P/$n.pem"
done

# --- DH group ----------------------------------------------------------
# The fixed RFC 7919 group: nothing to generate, nothing secret.
if ! openssl pkeyparam -in "$P/ffdhe2048.pem" -noout >/dev/null 2>&1; then
	openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048 \
	    -out "$P/ffdhe2048.pem.tmp"
	mv "$P/ffdhe2048.pem.tmp" "$P/ffdhe2048.pem"
fi
chmod 0644 "$P/ffdhe2048.pem"

ensure_secrets "$R"

# --- image signing key ---------------------------------------------------
# Made once; kept while it exists (images pushed and signed stay valid).
S="$R/signing"
if [ -z "$(signing_fpr "$R")" ]; then
	log "creating the image signing key"
	rm -rf "$S/gnupg"
	(umask 077 && mkdir -p "$S/gnupg")
	GNUPGHOME=$S/gnupg gpg --batch --quiet --pinentry-mode loopback \
	    --passphrase '' --quick-gen-key "$SIGNING_UID" rsa3072 sign never \
	    2>/dev/null || die "cannot create the image signing key"
	gpg_done "$R"
fi
chmod 0700 "$S/gnupg"
fpr=$(signing_fpr "$R")
if ! GNUPGHOME=$S/gnupg gpg --batch --with-colons --show-keys \
    "$S/image-signing.gpg" 2>/dev/null | grep -q "^fpr:.*:$fpr:\$"; then
	GNUPGHOME=$S/gnupg gpg --batch --export "$fpr" >"$S/image-signing.gpg.tmp"
	mv "$S/image-signing.gpg.tmp" "$S/image-signing.gpg"
fi
chmod 0644 "$S/image-signing.gpg"
image_trust "$R"
