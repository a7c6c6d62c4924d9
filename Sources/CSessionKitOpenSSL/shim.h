// The operating system's OpenSSL 3, for SessionKitTLS only. OpenSSL's function-like macros do not
// import into Swift; the static inline wrappers below stand in for the ones SessionKitTLS uses.
#ifndef CSESSIONKIT_OPENSSL_SHIM_H
#define CSESSIONKIT_OPENSSL_SHIM_H

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

static inline int sk_ssl_set_sni(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}

static inline int sk_ctx_set_min_tls12(SSL_CTX *ctx) {
    return (int)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
}

static inline int sk_ctx_set_min_tls13(SSL_CTX *ctx) {
    return (int)SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
}

static inline int sk_filetype_pem(void) { return SSL_FILETYPE_PEM; }

static inline void sk_ctx_harden(SSL_CTX *ctx) {
    // No renegotiation (TLS 1.2); no compression; a peer that closes without close_notify is an error,
    // which the caller reports as a truncated connection.
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
}

// A server's CertificateRequest, noted for a client that has no certificate to send: OpenSSL
// calls this only then. With TLS 1.3 the client's handshake completes before the server judges
// the (missing) certificate, and the server's alert can be lost to its reset; the note lets the
// error name the likely cause anyway. Stored in the SSL's app data (ex_data index 0).
static int sk_note_certificate_request(SSL *ssl, X509 **certificate, EVP_PKEY **key) {
    (void)certificate;
    (void)key;
    SSL_set_ex_data(ssl, 0, (void *)1);
    return 0;  // no certificate
}

static inline void sk_ctx_note_certificate_requests(SSL_CTX *ctx) {
    SSL_CTX_set_client_cert_cb(ctx, sk_note_certificate_request);
}

static inline int sk_ssl_certificate_requested(const SSL *ssl) {
    return SSL_get_ex_data(ssl, 0) != NULL;
}

static inline int sk_ssl_expect_ip(SSL *ssl, const char *ip) {
    return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), ip);
}

static inline int sk_ssl_expect_host(SSL *ssl, const char *host) {
    X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    return X509_VERIFY_PARAM_set1_host(param, host, 0);
}

static inline int sk_err_reason(unsigned long code) { return ERR_GET_REASON(code); }
static inline int sk_err_library(unsigned long code) { return ERR_GET_LIB(code); }

static inline int sk_reason_wrong_version_number(void) { return SSL_R_WRONG_VERSION_NUMBER; }
static inline int sk_reason_packet_length_too_long(void) { return SSL_R_PACKET_LENGTH_TOO_LONG; }
static inline int sk_reason_unexpected_eof(void) { return SSL_R_UNEXPECTED_EOF_WHILE_READING; }
static inline int sk_reason_certificate_required(void) { return SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED; }
static inline int sk_reason_handshake_failure_alert(void) { return SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE; }
static inline int sk_reason_bad_certificate_alert(void) { return SSL_R_SSLV3_ALERT_BAD_CERTIFICATE; }
static inline int sk_reason_certificate_verify_failed(void) { return SSL_R_CERTIFICATE_VERIFY_FAILED; }
static inline int sk_library_ssl(void) { return ERR_LIB_SSL; }

static inline long sk_bio_pending(BIO *bio) { return (long)BIO_ctrl_pending(bio); }

#endif
