// The standard PKCS#11 (Cryptoki) interface, as Debian's libp11-kit-dev ships
// it. Only the header is used: modules (SoftHSM2, an HSM vendor's library)
// are loaded at run time with dlopen, so nothing links against p11-kit.
#include <dlfcn.h>
#include <p11-kit/pkcs11.h>
