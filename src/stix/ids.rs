//! Deterministic STIX identifiers, so the same incident, indicator or contact always gets the same
//! STIX id and a republished incident becomes a new version of the same objects rather than a
//! duplicate. They are built as UUIDv5 (RFC 9562 §5.5: SHA-1 of a namespace and the IODEF
//! identifier) but carry the version nibble 4: STIX 2.1 §2.9 says the ids of domain and
//! relationship objects SHOULD be version 4 UUIDs, and stix2-validator's strictest setting refuses
//! any other version (check 103). A SHA-1 output is as random-looking as a version 4 UUID needs to
//! be; nothing else about the id changes.

use sha1::{Digest, Sha1};

/// gridlink's UUIDv5 namespace: UUIDv5 of `gridlink` in the STIX 2.1 namespace for
/// cyber-observable ids (`00abedb4-aa42-466c-9c01-fed23315a9b7`, STIX 2.1 §2.9).
pub const NAMESPACE: [u8; 16] = [
    88, 169, 39, 232, 83, 106, 90, 220, 137, 165, 252, 111, 148, 55, 152, 76,
];

/// The UUIDv5 of `name` in `namespace`, in its canonical text form.
pub fn uuid_v5(namespace: &[u8; 16], name: &str) -> String {
    uuid_sha1(namespace, name, 0x50)
}

/// A name-based UUID: SHA-1 of `namespace` and `name`, with `version` (0x40 or 0x50).
fn uuid_sha1(namespace: &[u8; 16], name: &str, version: u8) -> String {
    let mut h = Sha1::new();
    h.update(namespace);
    h.update(name.as_bytes());
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | version;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// The STIX id `TYPE--UUID`: the UUIDv5 construction of `TYPE|name` in gridlink's namespace,
/// labelled version 4 (see the file's comment).
pub fn stix_id(kind: &str, name: &str) -> String {
    format!(
        "{kind}--{}",
        uuid_sha1(&NAMESPACE, &format!("{kind}|{name}"), 0x40)
    )
}

/// Whether `id` is a STIX identifier of type `kind` (`TYPE--` and an RFC 4122 UUID).
pub fn is_id_of(id: &str, kind: &str) -> bool {
    id.strip_prefix(kind)
        .and_then(|r| r.strip_prefix("--"))
        .is_some_and(is_uuid)
}

/// Whether `s` is a UUID in canonical text form.
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_python_uuid5() {
        // python3 -c "import uuid; print(uuid.uuid5(uuid.UUID('58a927e8-536a-5adc-89a5-fc6f9437984c'), 'x'))"
        assert_eq!(
            uuid_v5(&NAMESPACE, "x"),
            "631c07b8-318d-518e-b2be-25bcc373c1b4"
        );
        let id = stix_id("indicator", "a");
        assert!(is_id_of(&id, "indicator"));
        assert_eq!(&id[11 + 14..11 + 15], "4", "{id}");
        assert!(!is_id_of("indicator--zz", "indicator"));
    }
}
