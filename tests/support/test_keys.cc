#include "tests/support/test_keys.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <stdexcept>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/jwt.h"

namespace livecall::testing {
namespace {

std::shared_ptr<EVP_PKEY> Generate(int type, int rsa_bits, int curve) {
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
      EVP_PKEY_CTX_new_id(type, nullptr), EVP_PKEY_CTX_free);
  EVP_PKEY* key = nullptr;
  if (ctx == nullptr || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      (type == EVP_PKEY_RSA && EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), rsa_bits) != 1) ||
      (type == EVP_PKEY_EC && EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx.get(), curve) != 1) ||
      EVP_PKEY_keygen(ctx.get(), &key) != 1) {
    throw std::runtime_error("key generation failed");
  }
  return std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free);
}

}  // namespace

TestKeyPair TestKeyPair::Rsa(int bits) {
  TestKeyPair pair;
  pair.key_ = Generate(EVP_PKEY_RSA, bits, 0);
  return pair;
}

TestKeyPair TestKeyPair::EcP256() {
  TestKeyPair pair;
  pair.key_ = Generate(EVP_PKEY_EC, 0, NID_X9_62_prime256v1);
  return pair;
}

TestKeyPair TestKeyPair::EcP384() {
  TestKeyPair pair;
  pair.key_ = Generate(EVP_PKEY_EC, 0, NID_secp384r1);
  return pair;
}

std::string TestKeyPair::PublicKeyPem() const {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_PUBKEY(bio.get(), key_.get());
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(length));
}

std::string TestKeyPair::SignJwt(absl::string_view header_json,
                                 absl::string_view payload_json) const {
  const std::string input =
      absl::StrCat(Base64UrlEncode(header_json), ".", Base64UrlEncode(payload_json));
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  size_t length = 0;
  if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &length,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    throw std::runtime_error("signing failed");
  }
  std::vector<unsigned char> signature(length);
  if (EVP_DigestSign(ctx.get(), signature.data(), &length,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    throw std::runtime_error("signing failed");
  }
  signature.resize(length);
  std::string raw(signature.begin(), signature.end());
  if (EVP_PKEY_get_base_id(key_.get()) == EVP_PKEY_EC) {
    // DER ECDSA-Sig-Value -> JWS r || s, each left-padded to 32 bytes.
    const unsigned char* der = signature.data();
    std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(
        d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(signature.size())), ECDSA_SIG_free);
    unsigned char rs[64];
    BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), rs, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), rs + 32, 32);
    raw.assign(reinterpret_cast<const char*>(rs), 64);
  }
  return absl::StrCat(input, ".", Base64UrlEncode(raw));
}

}  // namespace livecall::testing
