package main

// The container image is FROM scratch and has no CA bundle: without roots every JWKS and
// discovery fetch over HTTPS would fail. The fallback bundle is used only when the system
// has no roots of its own (a host's or a mounted bundle, SSL_CERT_FILE, take precedence).
import _ "golang.org/x/crypto/x509roots/fallback"
