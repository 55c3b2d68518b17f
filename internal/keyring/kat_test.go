package keyring

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Known-answer tests. Every vector below is copied from the public standard
// named beside it; none is computed by the code under test.

// aeadVector is one AEAD test vector with a 96-bit nonce.
type aeadVector struct {
	name                string
	key, nonce, pt, aad string // hex
	ct, tag             string // hex
}

// The GCM vectors are from "The Galois/Counter Mode of Operation (GCM)",
// D. McGrew and J. Viega, revised 2005 (submitted to NIST for SP 800-38D),
// Appendix B, test cases 1-4 (AES-128) and 13-16 (AES-256): the ones with
// a 96-bit IV.
var gcmAES128Vectors = []aeadVector{
	{
		name:  "McGrew-Viega case 1",
		key:   "00000000000000000000000000000000",
		nonce: "000000000000000000000000",
		tag:   "58e2fccefa7e3061367f1d57a4e7455a",
	},
	{
		name:  "McGrew-Viega case 2",
		key:   "00000000000000000000000000000000",
		nonce: "000000000000000000000000",
		pt:    "00000000000000000000000000000000",
		ct:    "0388dace60b6a392f328c2b971b2fe78",
		tag:   "ab6e47d42cec13bdf53a67b21257bddf",
	},
	{
		name:  "McGrew-Viega case 3",
		key:   "feffe9928665731c6d6a8f9467308308",
		nonce: "cafebabefacedbaddecaf888",
		pt: "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" +
			"1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
		ct: "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e" +
			"21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
		tag: "4d5c2af327cd64a62cf35abd2ba6fab4",
	},
	{
		name:  "McGrew-Viega case 4",
		key:   "feffe9928665731c6d6a8f9467308308",
		nonce: "cafebabefacedbaddecaf888",
		pt: "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" +
			"1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
		aad: "feedfacedeadbeeffeedfacedeadbeefabaddad2",
		ct: "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e" +
			"21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
		tag: "5bc94fbc3221a5db94fae95ae7121a47",
	},
}

var gcmAES256Vectors = []aeadVector{
	{
		name:  "McGrew-Viega case 13",
		key:   "0000000000000000000000000000000000000000000000000000000000000000",
		nonce: "000000000000000000000000",
		tag:   "530f8afbc74536b9a963b4f1c4cb738b",
	},
	{
		name:  "McGrew-Viega case 14",
		key:   "0000000000000000000000000000000000000000000000000000000000000000",
		nonce: "000000000000000000000000",
		pt:    "00000000000000000000000000000000",
		ct:    "cea7403d4d606b6e074ec5d3baf39d18",
		tag:   "d0d1c8a799996bf0265b98b5d48ab919",
	},
	{
		name:  "McGrew-Viega case 15",
		key:   "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
		nonce: "cafebabefacedbaddecaf888",
		pt: "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" +
			"1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
		ct: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa" +
			"8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
		tag: "b094dac5d93471bdec1a502270e3cc6c",
	},
	{
		name:  "McGrew-Viega case 16",
		key:   "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
		nonce: "cafebabefacedbaddecaf888",
		pt: "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" +
			"1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
		aad: "feedfacedeadbeeffeedfacedeadbeefabaddad2",
		ct: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa" +
			"8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
		tag: "76fc6ece0f4e1768cddf8853bb2d551b",
	},
}

// chachaVectors: RFC 8439 §2.8.2, the AEAD_CHACHA20_POLY1305 example. The
// nonce is the 32-bit constant 07000000 followed by the 64-bit IV
// 4041424344454647.
var chachaVectors = []aeadVector{{
	name:  "RFC 8439 2.8.2",
	key:   "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
	nonce: "070000004041424344454647",
	pt: hex.EncodeToString([]byte("Ladies and Gentlemen of the class of '99: " +
		"If I could offer you only one tip for the future, sunscreen would be it.")),
	aad: "50515253c0c1c2c3c4c5c6c7",
	ct: `d3 1a 8d 34 64 8e 60 db 7b 86 af bc 53 ef 7e c2
	     a4 ad ed 51 29 6e 08 fe a9 e2 b5 a7 36 ee 62 d6
	     3d be a4 5e 8c a9 67 12 82 fa fb 69 da 92 72 8b
	     1a 71 de 0a 9e 06 0b 29 05 d6 a5 b6 7e cd 3b 36
	     92 dd bd 7f 2d 77 8b 8c 98 03 ae e3 28 09 1b 58
	     fa b3 24 e4 fa d6 75 94 55 85 80 8b 48 31 d7 bc
	     3f f4 de f0 8e 4b 7a 9d e5 76 d2 65 86 ce c6 4b
	     61 16`,
	tag: "1a:e1:0b:59:4f:09:e2:6a:7e:90:2e:cb:d0:60:06:91",
}}

func TestAEADKnownAnswers(t *testing.T) {
	t.Parallel()
	suites := []struct {
		alg     Algorithm
		vectors []aeadVector
	}{
		{AES256GCM, gcmAES256Vectors},
		{AES256GCM96, gcmAES256Vectors},
		{AES128GCM96, gcmAES128Vectors},
		{ChaCha20Poly1305, chachaVectors},
	}
	for _, s := range suites {
		for _, v := range s.vectors {
			t.Run(string(s.alg)+"/"+v.name, func(t *testing.T) {
				t.Parallel()
				k := mustLoad(t, s.alg, unhex(t, v.key))
				nonce, pt, aad := unhex(t, v.nonce), unhex(t, v.pt), unhex(t, v.aad)
				ctTag := append(unhex(t, v.ct), unhex(t, v.tag)...)

				// Decrypt takes the Encrypt framing: nonce || ciphertext || tag.
				got, err := k.Decrypt(append(bytes.Clone(nonce), ctTag...), aad)
				if err != nil {
					t.Fatalf("Decrypt() error: %v", err)
				}
				if diff := cmp.Diff(hex.EncodeToString(pt), hex.EncodeToString(got)); diff != "" {
					t.Errorf("Decrypt() plaintext mismatch (-want +got):\n%s", diff)
				}

				// Encrypt picks its own nonce; the AEAD lets us fix it.
				aead, err := k.AEAD()
				if err != nil {
					t.Fatalf("AEAD() error: %v", err)
				}
				if aead.NonceSize() != 12 {
					t.Fatalf("AEAD().NonceSize() = %d, want 12", aead.NonceSize())
				}
				sealed := aead.Seal(nil, nonce, pt, aad)
				if diff := cmp.Diff(hex.EncodeToString(ctTag), hex.EncodeToString(sealed)); diff != "" {
					t.Errorf("AEAD().Seal() mismatch (-want +got):\n%s", diff)
				}

				// And Encrypt's output has the documented shape and opens.
				ct, err := k.Encrypt(pt, aad)
				if err != nil {
					t.Fatalf("Encrypt() error: %v", err)
				}
				if want := 12 + len(pt) + 16; len(ct) != want {
					t.Errorf("len(Encrypt()) = %d, want %d", len(ct), want)
				}
				opened, err := aead.Open(nil, ct[:12], ct[12:], aad)
				if err != nil || !bytes.Equal(opened, pt) {
					t.Errorf("AEAD().Open(Encrypt()) = %x, %v; want the plaintext", opened, err)
				}
			})
		}
	}
}

func TestEncryptUsesFreshNonces(t *testing.T) {
	t.Parallel()
	for _, a := range []Algorithm{AES256GCM, AES256GCM96, AES128GCM96, ChaCha20Poly1305} {
		t.Run(string(a), func(t *testing.T) {
			t.Parallel()
			k := mustGenerate(t, a)
			seen := map[string]bool{}
			for range 64 {
				ct, err := k.Encrypt([]byte("same"), nil)
				if err != nil {
					t.Fatal(err)
				}
				if n := string(ct[:12]); seen[n] {
					t.Fatalf("nonce %x repeated", ct[:12])
				} else {
					seen[n] = true
				}
			}
		})
	}
}

// hmacVectors are RFC 4231 §4 test cases 1, 3, 4, 6 and 7: the ones whose
// keys are at least 16 bytes (case 2's key "Jefe" is too short to load, and
// case 5 tests truncated output).
var hmacVectors = []struct {
	name                   string
	key, data              []byte
	sha256, sha384, sha512 string
}{
	{
		name: "RFC 4231 case 1", key: bytes.Repeat([]byte{0x0b}, 20), data: []byte("Hi There"),
		sha256: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
		sha384: "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c" +
			"faea9ea9076ede7f4af152e8b2fa9cb6",
		sha512: "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde" +
			"daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
	},
	{
		name: "RFC 4231 case 3", key: bytes.Repeat([]byte{0xaa}, 20), data: bytes.Repeat([]byte{0xdd}, 50),
		sha256: "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
		sha384: "88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b" +
			"2a5ab39dc13814b94e3ab6e101a34f27",
		sha512: "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39" +
			"bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb",
	},
	{
		name: "RFC 4231 case 4",
		key: []byte{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d,
			0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19},
		data:   bytes.Repeat([]byte{0xcd}, 50),
		sha256: "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
		sha384: "3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e" +
			"6801dd23c4a7d679ccf8a386c674cffb",
		sha512: "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3db" +
			"a91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd",
	},
	{
		name: "RFC 4231 case 6", key: bytes.Repeat([]byte{0xaa}, 131),
		data:   []byte("Test Using Larger Than Block-Size Key - Hash Key First"),
		sha256: "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
		sha384: "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c6" +
			"0c2ef6ab4030fe8296248df163f44952",
		sha512: "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352" +
			"6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598",
	},
	{
		name: "RFC 4231 case 7", key: bytes.Repeat([]byte{0xaa}, 131),
		data: []byte("This is a test using a larger than block-size key and a larger than " +
			"block-size data. The key needs to be hashed before being used by the HMAC algorithm."),
		sha256: "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
		sha384: "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5" +
			"a678cc31e799176d3860e6110c46523e",
		sha512: "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944" +
			"b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58",
	},
}

func TestHMACKnownAnswers(t *testing.T) {
	t.Parallel()
	for _, v := range hmacVectors {
		for a, want := range map[Algorithm]string{HMACSHA256: v.sha256, HMACSHA384: v.sha384, HMACSHA512: v.sha512} {
			t.Run(string(a)+"/"+v.name, func(t *testing.T) {
				t.Parallel()
				k := mustLoad(t, a, v.key)
				mac, err := k.Sign(v.data)
				if err != nil {
					t.Fatalf("Sign() error: %v", err)
				}
				if diff := cmp.Diff(want, hex.EncodeToString(mac)); diff != "" {
					t.Errorf("Sign() mismatch (-want +got):\n%s", diff)
				}
				checkVerify(t, k, v.data, unhex(t, want))
			})
		}
	}
}

// checkVerify asserts that k accepts sig for msg and rejects it with any
// one of a few bits flipped, truncated, extended, empty, or for another
// message.
func checkVerify(t *testing.T, k *Key, msg, sig []byte) {
	t.Helper()
	if ok, err := k.Verify(msg, sig); !ok || err != nil {
		t.Fatalf("Verify(valid) = %v, %v; want true, nil", ok, err)
	}
	bad := map[string][]byte{
		"empty":     {},
		"nil":       nil,
		"truncated": sig[:len(sig)-1],
		"extended":  append(bytes.Clone(sig), 0),
	}
	for _, i := range []int{0, len(sig) / 2, len(sig) - 1} {
		for _, bit := range []byte{0x01, 0x80} {
			f := bytes.Clone(sig)
			f[i] ^= bit
			bad[fmt.Sprintf("flip byte %d bit %#x", i, bit)] = f
		}
	}
	for name, s := range bad {
		if ok, err := k.Verify(msg, s); ok || err != nil {
			t.Errorf("Verify(%s) = %v, %v; want false, nil", name, ok, err)
		}
	}
	if ok, err := k.Verify(append(bytes.Clone(msg), '!'), sig); ok || err != nil {
		t.Errorf("Verify(other message) = %v, %v; want false, nil", ok, err)
	}
}

// ed25519Vectors are RFC 8032 §7.1 TEST 1, TEST 2 and TEST 3.
var ed25519Vectors = []struct {
	name, secret, public, message, signature string // hex
}{
	{
		name:    "RFC 8032 TEST 1",
		secret:  "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
		public:  "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
		message: "",
		signature: "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555" +
			"fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
	},
	{
		name:    "RFC 8032 TEST 2",
		secret:  "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
		public:  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
		message: "72",
		signature: "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da" +
			"085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
	},
	{
		name:    "RFC 8032 TEST 3",
		secret:  "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
		public:  "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
		message: "af82",
		signature: "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac" +
			"18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
	},
}

func TestEd25519KnownAnswers(t *testing.T) {
	t.Parallel()
	for _, v := range ed25519Vectors {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			der, err := x509.MarshalPKCS8PrivateKey(ed25519.NewKeyFromSeed(unhex(t, v.secret)))
			if err != nil {
				t.Fatal(err)
			}
			k := mustLoad(t, Ed25519, der)
			msg := unhex(t, v.message)
			sig, err := k.Sign(msg)
			if err != nil {
				t.Fatalf("Sign() error: %v", err)
			}
			if diff := cmp.Diff(v.signature, hex.EncodeToString(sig)); diff != "" {
				t.Errorf("Sign() mismatch (-want +got):\n%s", diff)
			}
			pub := publicKeyOf(t, k).(ed25519.PublicKey)
			if diff := cmp.Diff(v.public, hex.EncodeToString(pub)); diff != "" {
				t.Errorf("PublicKeyPEM() mismatch (-want +got):\n%s", diff)
			}
			checkVerify(t, k, msg, unhex(t, v.signature))
		})
	}
}

// publicKeyOf parses k's PublicKeyPEM.
func publicKeyOf(t *testing.T, k *Key) any {
	t.Helper()
	s, err := k.PublicKeyPEM()
	if err != nil {
		t.Fatalf("PublicKeyPEM() error: %v", err)
	}
	block, rest := pem.Decode([]byte(s))
	if block == nil || block.Type != "PUBLIC KEY" || len(bytes.TrimSpace(rest)) != 0 {
		t.Fatalf("PublicKeyPEM() = %q, want one PUBLIC KEY block", s)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatalf("PublicKeyPEM(): %v", err)
	}
	return pub
}

// ecdsaVectors are RFC 6979 Appendix A.2.5 (P-256), A.2.6 (P-384) and
// A.2.7 (P-521): the private key x, the public key (Ux, Uy), and the
// deterministic signature (r, s) of the message "sample" with SHA-256,
// SHA-384 and SHA-512 respectively.
var ecdsaVectors = []struct {
	name      string
	alg       Algorithm
	curve     elliptic.Curve
	x, ux, uy string
	message   string
	r, s      string
}{
	{
		name: "RFC 6979 A.2.5 P-256 SHA-256 sample", alg: ECDSAP256SHA256, curve: elliptic.P256(),
		x:       "C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721",
		ux:      "60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6",
		uy:      "7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299",
		message: "sample",
		r:       "EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716",
		s:       "F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8",
	},
	{
		name: "RFC 6979 A.2.5 P-256 SHA-256 test", alg: ECDSAP256SHA256, curve: elliptic.P256(),
		x:       "C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721",
		ux:      "60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6",
		uy:      "7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299",
		message: "test",
		r:       "F1ABB023518351CD71D881567B1EA663ED3EFCF6C5132B354F28D3B0B7D38367",
		s:       "019F4113742A2B14BD25926B49C649155F267E60D3814B4C0CC84250E46F0083",
	},
	{
		name: "RFC 6979 A.2.6 P-384 SHA-384 sample", alg: ECDSAP384SHA384, curve: elliptic.P384(),
		x: "6B9D3DAD2E1B8C1C05B19875B6659F4DE23C3B667BF297BA9AA47740787137D8" +
			"96D5724E4C70A825F872C9EA60D2EDF5",
		ux: "EC3A4E415B4E19A4568618029F427FA5DA9A8BC4AE92E02E06AAE5286B300C64" +
			"DEF8F0EA9055866064A254515480BC13",
		uy: "8015D9B72D7D57244EA8EF9AC0C621896708A59367F9DFB9F54CA84B3F1C9DB1" +
			"288B231C3AE0D4FE7344FD2533264720",
		message: "sample",
		r: "94EDBB92A5ECB8AAD4736E56C691916B3F88140666CE9FA73D64C4EA95AD133C" +
			"81A648152E44ACF96E36DD1E80FABE46",
		s: "99EF4AEB15F178CEA1FE40DB2603138F130E740A19624526203B6351D0A3A94F" +
			"A329C145786E679E7B82C71A38628AC8",
	},
	{
		name: "RFC 6979 A.2.7 P-521 SHA-512 sample", alg: ECDSAP521SHA512, curve: elliptic.P521(),
		x: "0FAD06DAA62BA3B25D2FB40133DA757205DE67F5BB0018FEE8C86E1B68C7E75C" +
			"AA896EB32F1F47C70855836A6D16FCC1466F6D8FBEC67DB89EC0C08B0E996B83538",
		ux: "1894550D0785932E00EAA23B694F213F8C3121F86DC97A04E5A7167DB4E5BCD3" +
			"71123D46E45DB6B5D5370A7F20FB633155D38FFA16D2BD761DCAC474B9A2F5023A4",
		uy: "0493101C962CD4D2FDDF782285E64584139C2F91B47F87FF82354D6630F746A2" +
			"8A0DB25741B5B34A828008B22ACC23F924FAAFBD4D33F81EA66956DFEAA2BFDFCF5",
		message: "sample",
		r: "0C328FAFCBD79DD77850370C46325D987CB525569FB63C5D3BC53950E6D4C5F1" +
			"74E25A1EE9017B5D450606ADD152B534931D7D4E8455CC91F9B15BF05EC36E377FA",
		s: "0617CCE7CF5064806C467F678D3B4080D6F1CC50AF26CA209417308281B68AF2" +
			"82623EAA63E5B5C0723D8B8C37FF0777B1A20F8CCB1DCCC43997F1EE0E44DA4A67A",
	},
}

// fieldBytes left-pads the hex number s to the curve's field size. (The
// RFC prints P-521 values with 131 hex digits.)
func fieldBytes(t *testing.T, c elliptic.Curve, s string) []byte {
	t.Helper()
	n, ok := new(big.Int).SetString(s, 16)
	if !ok {
		t.Fatalf("bad number %q", s)
	}
	return n.FillBytes(make([]byte, (c.Params().BitSize+7)/8))
}

func TestECDSAKnownAnswers(t *testing.T) {
	t.Parallel()
	for _, v := range ecdsaVectors {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			priv, err := ecdsa.ParseRawPrivateKey(v.curve, fieldBytes(t, v.curve, v.x))
			if err != nil {
				t.Fatal(err)
			}
			der, err := x509.MarshalPKCS8PrivateKey(priv)
			if err != nil {
				t.Fatal(err)
			}
			k := mustLoad(t, v.alg, der)

			// The public key Load derived is the RFC's U = xG.
			pub, err := publicKeyOf(t, k).(*ecdsa.PublicKey).Bytes()
			if err != nil {
				t.Fatal(err)
			}
			want := "04" + hex.EncodeToString(fieldBytes(t, v.curve, v.ux)) + hex.EncodeToString(fieldBytes(t, v.curve, v.uy))
			if diff := cmp.Diff(want, hex.EncodeToString(pub)); diff != "" {
				t.Errorf("public key mismatch (-want +got):\n%s", diff)
			}

			// The RFC's (r, s), DER-encoded as Sign returns signatures.
			r, _ := new(big.Int).SetString(v.r, 16)
			s, _ := new(big.Int).SetString(v.s, 16)
			sig, err := asn1.Marshal(struct{ R, S *big.Int }{r, s})
			if err != nil {
				t.Fatal(err)
			}
			msg := []byte(v.message)
			checkVerify(t, k, msg, sig)

			// Sign is randomized (hedged), so only round trips can be checked.
			mine, err := k.Sign(msg)
			if err != nil {
				t.Fatalf("Sign() error: %v", err)
			}
			if ok, err := k.Verify(msg, mine); !ok || err != nil {
				t.Errorf("Verify(Sign()) = %v, %v; want true, nil", ok, err)
			}
			if ok, _ := k.Verify([]byte(strings.ToUpper(v.message)), mine); ok {
				t.Error("Verify(other message, Sign()) = true")
			}
		})
	}
}
