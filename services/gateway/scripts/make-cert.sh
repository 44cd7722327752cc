#!/usr/bin/env sh
# Makes a self-signed certificate for local HTTPS into $VAR_DIR/nginx/tls (default ./var).
# The next `gateway render-nginx` (or `make up`) then adds a TLS server on GATEWAY_TLS_PORT
# (default GATEWAY_PORT + 10); plain HTTP on loopback stays available.
set -eu
VAR_DIR="${VAR_DIR:-var}"
DIR="$VAR_DIR/nginx/tls"
DAYS="${CERT_DAYS:-365}"
mkdir -p "$DIR"
umask 077
openssl req -x509 -newkey rsa:2048 -nodes -days "$DAYS" \
    -keyout "$DIR/key.pem" -out "$DIR/cert.pem" \
    -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
echo "wrote $DIR/cert.pem and $DIR/key.pem (self-signed, $DAYS days)"
