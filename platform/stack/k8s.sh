#!/usr/bin/env bash
# k8s.sh RUNDIR [restricted|baseline|trial-postgres] - what `kubectl apply
# -k` needs beside the committed manifests (conf/kubernetes/, made by
# platform/tools/k8s-manifests): the images by digest, and the Secrets.
#
# After `./build.sh images` (build/images/NAME/digest), it writes:
#   RUNDIR/kubernetes/kustomization.yaml   the chosen overlay (default
#                     restricted) with each image set to
#                     $REGISTRY/NAME@sha256:... (kustomize `images:` with
#                     `digest:`), and the PostgreSQL egress set to
#                     POSTGRES_CIDR / POSTGRES_PORT when given
#   RUNDIR/kubernetes/secrets/NAME/        each service's secret files, as
#                     platform/stack/lib.sh makes them for a container
#                     (credentials: digests only; identity_token;
#                     db_password), 0400
#   RUNDIR/kubernetes/secrets.sh           the kubectl commands that create
#                     the Secrets from those files and RUNDIR/pki (printed
#                     too): file names only, no value on a command line
# Then: `sh RUNDIR/kubernetes/secrets.sh && kubectl apply -k RUNDIR/kubernetes`.
#
# Environment: REGISTRY (default 127.0.0.1:5000: the registry the cluster
# pulls from), IMAGES (default build/images), NAMESPACE (crm-supply),
# POSTGRES_HOST (required; the trial overlay's default: postgres), POSTGRES_PORT
# (5432), POSTGRES_DB (crm_supply_db), POSTGRES_CA (the CA that signed
# PostgreSQL's certificate; default RUNDIR/pki/ca.pem), POSTGRES_CIDR (the
# address block of PostgreSQL for the NetworkPolicy; default: the base's
# placeholder 0.0.0.0/0), TRIAL_POSTGRES_IMAGE (trial-postgres: a
# PostgreSQL 15 image by digest, e.g. docker.io/library/postgres@sha256:...).
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

usage() { die "usage: k8s.sh RUNDIR [restricted|baseline|trial-postgres]"; }
if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
RUN=$(rundir "$1")
overlay=${2:-restricted}
KDIR=$REPO_DIR/conf/kubernetes
[ -f "$KDIR/overlays/$overlay/kustomization.yaml" ] || usage
REGISTRY=${REGISTRY:-127.0.0.1:5000}
IMAGES=${IMAGES:-$REPO_DIR/build/images}
NAMESPACE=${NAMESPACE:-crm-supply}
if [ "$overlay" = trial-postgres ]; then
	POSTGRES_HOST=${POSTGRES_HOST:-postgres}
fi
[ -n "${POSTGRES_HOST:-}" ] ||
    die "set POSTGRES_HOST: your PostgreSQL's host name (the name in its certificate)"
POSTGRES_PORT=${POSTGRES_PORT:-5432}
POSTGRES_DB=${POSTGRES_DB:-crm_supply_db}
POSTGRES_CA=${POSTGRES_CA:-$RUN/pki/ca.pem}
PLACEHOLDER=unset.invalid	# the committed manifests' image registry
OUT=$RUN/kubernetes
DIGEST_RE='^sha256:[0-9a-f]{64}$'

case $POSTGRES_PORT in ''|*[!0-9]*) die "POSTGRES_PORT: a number" ;; esac
for n in $SERVICES_DECLARED; do
	[ -s "$IMAGES/$n/digest" ] || die "no $IMAGES/$n/digest (./build.sh images)"
	grep -Eq "$DIGEST_RE" "$IMAGES/$n/digest" ||
	    die "$IMAGES/$n/digest: not a sha256 digest"
done
[ -s "$RUN/pki/ca.pem" ] || die "no $RUN/pki/ca.pem (platform/stack/pki.sh $RUN)"
if [ "$overlay" = trial-postgres ]; then
	[[ ${TRIAL_POSTGRES_IMAGE:-} =~ ^[^@]+@sha256:[0-9a-f]{64}$ ]] ||
	    die "trial-postgres: set TRIAL_POSTGRES_IMAGE to a PostgreSQL 15 image by digest"
fi

mkdir -p "$OUT"
# A YAML double-quoted string (JSON's escapes are YAML's).
q() { python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$1"; }
# A shell single-quoted word.
sq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

# --- kustomization.yaml ----------------------------------------------------
{
	cat <<EOF
# Written by platform/stack/k8s.sh: the $overlay overlay with the images
# of $IMAGES by digest. Apply with: kubectl apply -k $OUT
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: $(q "$NAMESPACE")
resources:
- $(q "$(realpath --relative-to="$OUT" "$KDIR/overlays/$overlay")")
images:
EOF
	for n in $SERVICES_DECLARED; do
		printf -- '- name: %s\n  newName: %s\n  digest: %s\n' \
		    "$PLACEHOLDER/$n" "$(q "$REGISTRY/$n")" "$(cat "$IMAGES/$n/digest")"
	done
	if [ "$overlay" = trial-postgres ]; then
		printf -- '- name: %s\n  newName: %s\n  digest: %s\n' \
		    "$PLACEHOLDER/postgres" "$(q "${TRIAL_POSTGRES_IMAGE%@*}")" \
		    "${TRIAL_POSTGRES_IMAGE#*@}"
	fi
	if [ -n "${POSTGRES_CIDR:-}" ] || [ "$POSTGRES_PORT" != 5432 ]; then
		[ "$overlay" != trial-postgres ] ||
		    die "trial-postgres: its own PostgreSQL; POSTGRES_CIDR/PORT do not apply"
		cat <<EOF
patches:
- patch: |-
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata:
      name: postgres-egress
    spec:
      egress:
      - to:
        - ipBlock:
            cidr: $(q "${POSTGRES_CIDR:-0.0.0.0/0}")
        ports:
        - protocol: TCP
          port: $POSTGRES_PORT
EOF
	fi
} >"$OUT/kustomization.yaml.tmp"
mv "$OUT/kustomization.yaml.tmp" "$OUT/kustomization.yaml"

# --- Secrets -----------------------------------------------------------
ensure_secrets "$RUN"
for n in $SERVICES_DECLARED; do
	load_decl "$n"
	[ -s "$RUN/pki/$n.pem" ] || die "no $RUN/pki/$n.pem (platform/stack/pki.sh $RUN)"
	service_secrets "$RUN" "$n" "$role" "$OUT/secrets/$n"
done
chmod 0700 "$OUT/secrets"

# apply_secret ARGS...: create-or-update, idempotent, no value on the line.
{
	printf '#!/bin/sh\n# Written by platform/stack/k8s.sh: the Secrets the %s overlay mounts,\n' "$overlay"
	printf '# from files (never a value on a command line). Idempotent.\nset -e\n'
	printf 'k() { kubectl -n %s "$@" --dry-run=client -o yaml | kubectl -n %s apply -f -; }\n' \
	    "$(sq "$NAMESPACE")" "$(sq "$NAMESPACE")"
	printf 'kubectl get namespace %s >/dev/null 2>&1 || kubectl create namespace %s\n' \
	    "$(sq "$NAMESPACE")" "$(sq "$NAMESPACE")"
	printf 'k create secret generic crm-supply-ca --from-file=ca.pem=%s\n' "$(sq "$RUN/pki/ca.pem")"
	printf 'k create secret generic crm-supply-postgres --from-literal=host=%s --from-literal=port=%s --from-literal=dbname=%s --from-file=ca.pem=%s\n' \
	    "$(sq "$POSTGRES_HOST")" "$POSTGRES_PORT" "$(sq "$POSTGRES_DB")" "$(sq "$POSTGRES_CA")"
	for n in $SERVICES_DECLARED; do
		printf 'k create secret tls %s-tls --cert=%s --key=%s\n' "$n" \
		    "$(sq "$RUN/pki/$n.pem")" "$(sq "$RUN/pki/$n.key")"
		printf 'k create secret generic %s-secrets --from-file=%s\n' "$n" \
		    "$(sq "$OUT/secrets/$n")"
	done
	if [ "$overlay" = trial-postgres ]; then
		[ -s "$RUN/pki/postgres.pem" ] || die "no $RUN/pki/postgres.pem"
		printf 'k create secret tls postgres-tls --cert=%s --key=%s\n' \
		    "$(sq "$RUN/pki/postgres.pem")" "$(sq "$RUN/pki/postgres.key")"
		printf 'k create secret generic crm-supply-trial-postgres --from-file=db_admin=%s\n' \
		    "$(sq "$RUN/secrets/db_admin")"
	fi
} >"$OUT/secrets.sh.tmp"
mv "$OUT/secrets.sh.tmp" "$OUT/secrets.sh"
chmod 0755 "$OUT/secrets.sh"

log "wrote $OUT/kustomization.yaml ($overlay, images from $REGISTRY by digest)"
log "the Secrets ($OUT/secrets.sh):"
sed -n 's/^k create/kubectl create/p' "$OUT/secrets.sh" >&2
log "then: sh $OUT/secrets.sh && kubectl apply -k $OUT"
