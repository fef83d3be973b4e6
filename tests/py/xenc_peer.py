#!/usr/bin/env python3
"""An independent XML Encryption 1.1 peer for tests/rid_encryption.rs, on Python `cryptography`
(OpenSSL): what gridlink cannot check with xmlsec1 1.2 (which has neither ECDH-ES nor the SHA-256
RSA-OAEP of xmlenc11).

    xenc_peer.py decrypt DOC.xml KEY.pem      -> the plaintext of DOC's first xenc:EncryptedData
    xenc_peer.py encrypt PLAIN CERT.pem       -> an xenc:EncryptedData (Type Element) of PLAIN's
                                                 octets for CERT: ECDH-ES + ConcatKDF-SHA-256 +
                                                 kw-aes256 for EC P-256, rsa-oaep (SHA-256,
                                                 MGF1-SHA-256) for RSA; AES-256-GCM content. Written
                                                 with default namespaces (not gridlink's prefixes).
"""
import base64
import os
import sys
import xml.etree.ElementTree as ET

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap, aes_key_wrap

XENC = "http://www.w3.org/2001/04/xmlenc#"
XENC11 = "http://www.w3.org/2009/xmlenc11#"
DS = "http://www.w3.org/2000/09/xmldsig#"
DSIG11 = "http://www.w3.org/2009/xmldsig11#"
X, X11, D, D11 = "{%s}" % XENC, "{%s}" % XENC11, "{%s}" % DS, "{%s}" % DSIG11
KW = XENC + "kw-aes256"


def unpadded(hexval):
    """A ConcatKDFParams bit string: hexBinary whose first octet counts padding bits."""
    b = bytes.fromhex(hexval or "")
    if not b:
        return b
    assert b[0] == 0, "padding bits"
    return b[1:]


def decrypt(doc, keyfile):
    root = ET.parse(doc).getroot()
    key = serialization.load_pem_private_key(open(keyfile, "rb").read(), None)
    ed = root.find(".//" + X + "EncryptedData")
    assert ed.get("Type") == XENC + "Element"
    assert ed.find(X + "EncryptionMethod").get("Algorithm") == XENC11 + "aes256-gcm"
    ek = ed.find(D + "KeyInfo/" + X + "EncryptedKey")
    method = ek.find(X + "EncryptionMethod")
    wrapped = base64.b64decode(ek.find(X + "CipherData/" + X + "CipherValue").text)
    alg = method.get("Algorithm")
    if alg == XENC11 + "rsa-oaep":
        assert method.find(D + "DigestMethod").get("Algorithm") == XENC + "sha256"
        assert method.find(X11 + "MGF").get("Algorithm") == XENC11 + "mgf1sha256"
        oaep = padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None)
        cek = key.decrypt(wrapped, oaep)
    elif alg == KW:
        am = ek.find(D + "KeyInfo/" + X + "AgreementMethod")
        assert am.get("Algorithm") == XENC11 + "ECDH-ES"
        kdm = am.find(X11 + "KeyDerivationMethod")
        assert kdm.get("Algorithm") == XENC11 + "ConcatKDF"
        p = kdm.find(X11 + "ConcatKDFParams")
        assert p.find(D + "DigestMethod").get("Algorithm") == XENC + "sha256"
        other = b"".join(unpadded(p.get(a)) for a in ("AlgorithmID", "PartyUInfo", "PartyVInfo"))
        eck = am.find(X + "OriginatorKeyInfo/" + D + "KeyValue/" + D11 + "ECKeyValue")
        assert eck.find(D11 + "NamedCurve").get("URI") == "urn:oid:1.2.840.10045.3.1.7"
        point = base64.b64decode(eck.find(D11 + "PublicKey").text)
        eph = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
        z = key.exchange(ec.ECDH(), eph)
        kek = ConcatKDFHash(hashes.SHA256(), 32, other).derive(z)
        cek = aes_key_unwrap(kek, wrapped)
    else:
        raise SystemExit("unexpected key transport " + alg)
    sealed = base64.b64decode(ed.find(X + "CipherData/" + X + "CipherValue").text)
    sys.stdout.buffer.write(AESGCM(cek).decrypt(sealed[:12], sealed[12:], None))


def encrypt(plainfile, certfile):
    plain = open(plainfile, "rb").read()
    cert = x509.load_pem_x509_certificate(open(certfile, "rb").read())
    der = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
    pub = cert.public_key()
    cek, iv = os.urandom(32), os.urandom(12)
    sealed = base64.b64encode(iv + AESGCM(cek).encrypt(iv, plain, None)).decode()
    x509data = '<X509Data xmlns="%s"><X509Certificate>%s</X509Certificate></X509Data>' % (DS, der)
    if isinstance(pub, rsa.RSAPublicKey):
        oaep = padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None)
        wrapped = base64.b64encode(pub.encrypt(cek, oaep)).decode()
        key = (
            '<EncryptionMethod Algorithm="%srsa-oaep"><DigestMethod xmlns="%s" Algorithm="%ssha256"/>'
            '<MGF xmlns="%s" Algorithm="%smgf1sha256"/></EncryptionMethod>'
            '<KeyInfo xmlns="%s">%s</KeyInfo>' % (XENC11, DS, XENC, XENC11, XENC11, DS, x509data)
        )
    else:
        eph = ec.generate_private_key(ec.SECP256R1())
        z = eph.exchange(ec.ECDH(), pub)
        algid = b"urn:example:gridlink-test"
        kek = ConcatKDFHash(hashes.SHA256(), 32, algid).derive(z)
        wrapped = base64.b64encode(aes_key_wrap(kek, cek)).decode()
        point = eph.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        # PartyUInfo/PartyVInfo written "" as in XML Encryption 1.1's own §5.6.3 example.
        key = (
            '<EncryptionMethod Algorithm="%s"/><KeyInfo xmlns="%s">'
            '<AgreementMethod xmlns="%s" Algorithm="%sECDH-ES">'
            '<KeyDerivationMethod xmlns="%s" Algorithm="%sConcatKDF">'
            '<ConcatKDFParams AlgorithmID="00%s" PartyUInfo="" PartyVInfo="">'
            '<DigestMethod xmlns="%s" Algorithm="%ssha256"/></ConcatKDFParams></KeyDerivationMethod>'
            '<OriginatorKeyInfo><KeyValue xmlns="%s"><ECKeyValue xmlns="%s">'
            '<NamedCurve URI="urn:oid:1.2.840.10045.3.1.7"/><PublicKey>%s</PublicKey>'
            "</ECKeyValue></KeyValue></OriginatorKeyInfo>"
            "<RecipientKeyInfo>%s</RecipientKeyInfo></AgreementMethod></KeyInfo>"
            % (KW, DS, XENC, XENC11, XENC11, XENC11, algid.hex(), DS, XENC, DS, DSIG11,
               base64.b64encode(point).decode(), x509data)
        )
    sys.stdout.write(
        '<EncryptedData xmlns="%s" Type="%sElement"><EncryptionMethod Algorithm="%saes256-gcm"/>'
        '<KeyInfo xmlns="%s"><EncryptedKey xmlns="%s">%s<CipherData><CipherValue>%s</CipherValue>'
        "</CipherData></EncryptedKey></KeyInfo><CipherData><CipherValue>%s</CipherValue></CipherData>"
        "</EncryptedData>"
        % (XENC, XENC, XENC11, DS, XENC, key, wrapped, sealed)
    )


if __name__ == "__main__":
    {"decrypt": decrypt, "encrypt": encrypt}[sys.argv[1]](sys.argv[2], sys.argv[3])
