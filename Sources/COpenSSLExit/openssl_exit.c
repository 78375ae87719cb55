#include <openssl/crypto.h>
#include "COpenSSLExit.h"

// OpenSSL (used by libssh2 and by libcurl under URLSession) frees its global locks from an atexit
// handler. Swift processes exit while dispatch threads may still be inside OpenSSL, which then
// crashes on a freed lock during exit. Initialising it first with OPENSSL_INIT_NO_ATEXIT, before
// main and before any other user, leaves the clean-up to the kernel.
__attribute__((constructor)) void cairn_openssl_without_atexit(void) {
    OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
}
