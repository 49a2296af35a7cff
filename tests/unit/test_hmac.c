/* test_hmac.c - SHA-256 / HMAC-SHA256 against published vectors. */
#include "pipeline/hmac.h"
#include "wc_test.h"

#include <stdio.h>
#include <string.h>

static void hexs(const uint8_t *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

WC_TEST(sha256_vectors)
{
    uint8_t d[32];
    char h[65];
    wc_sha256("abc", 3, d);
    hexs(d, 32, h);
    WC_CHECK_STR(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    wc_sha256("", 0, d);
    hexs(d, 32, h);
    WC_CHECK_STR(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    wc_sha256(m, strlen(m), d);
    hexs(d, 32, h);
    WC_CHECK_STR(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

WC_TEST(hmac_rfc4231)
{
    uint8_t d[32], key[20];
    char h[65];
    memset(key, 0x0b, sizeof(key));
    wc_hmac_sha256(key, sizeof(key), "Hi There", 8, d);
    hexs(d, 32, h);
    WC_CHECK_STR(h, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    wc_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, d);
    hexs(d, 32, h);
    WC_CHECK_STR(h, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    uint8_t longkey[131];
    memset(longkey, 0xaa, sizeof(longkey));
    const char *m = "Test Using Larger Than Block-Size Key - Hash Key First";
    wc_hmac_sha256(longkey, sizeof(longkey), m, strlen(m), d);
    hexs(d, 32, h);
    WC_CHECK_STR(h, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

WC_TEST(pseudonym_stable_and_keyed)
{
    char a[WC_PSEUDONYM_LEN + 1], b[WC_PSEUDONYM_LEN + 1], c[WC_PSEUDONYM_LEN + 1];
    wc_pseudonym("k1", 2, "author-1", 8, a);
    wc_pseudonym("k1", 2, "author-1", 8, b);
    wc_pseudonym("k2", 2, "author-1", 8, c);
    WC_CHECK_STR(a, b);
    WC_CHECK(strcmp(a, c) != 0);
    WC_CHECK(strlen(a) == WC_PSEUDONYM_LEN && !strncmp(a, "p-", 2));
}

int main(void)
{
    return wc_test_run_all();
}
