#ifndef LIVECALL_TESTS_SUPPORT_TEST_KEYS_H_
#define LIVECALL_TESTS_SUPPORT_TEST_KEYS_H_

// Key pairs made by OpenSSL in the test (nothing committed) and JWTs signed with them, for the
// RS256/ES256 paths of bearer-token verification.

#include <memory>
#include <string>

#include "absl/strings/string_view.h"

struct evp_pkey_st;

namespace livecall::testing {

class TestKeyPair {
 public:
  // RSA 2048 (RS256) or EC P-256 (ES256).
  static TestKeyPair Rsa(int bits = 2048);
  static TestKeyPair EcP256();
  // Another curve, which ES256 must refuse.
  static TestKeyPair EcP384();

  // -----BEGIN PUBLIC KEY----- (SubjectPublicKeyInfo).
  std::string PublicKeyPem() const;

  // A compact JWS over the given JSON: RS256 (PKCS#1 v1.5) for RSA, ES256 (r || s) for EC.
  std::string SignJwt(absl::string_view header_json, absl::string_view payload_json) const;

 private:
  std::shared_ptr<::evp_pkey_st> key_;
};

}  // namespace livecall::testing

#endif  // LIVECALL_TESTS_SUPPORT_TEST_KEYS_H_
