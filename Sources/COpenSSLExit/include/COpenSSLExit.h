#ifndef CAIRN_OPENSSL_EXIT_H
#define CAIRN_OPENSSL_EXIT_H

/// Initialises OpenSSL without its atexit clean-up (idempotent; also run as a constructor).
void cairn_openssl_without_atexit(void);

#endif
