//! IODEF `restriction` ↔ TLP 2.0 marking definitions (the OASIS TLP 2.0 objects of the STIX 2.1
//! extension `extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d`). RFC 7970's colour
//! values are TLP's synonyms; the older words map to the nearest colour: `public` → CLEAR,
//! `partner` → GREEN, `need-to-know` → AMBER, `private` → RED.

use serde_json::{json, Value};

/// The TLP 2.0 extension definition's id.
pub const TLP2_EXTENSION: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

/// One TLP 2.0 level: (the extension's `tlp_2_0` word, name, marking-definition id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlp {
    /// `clear`, `green`, `amber`, `amber+strict`, `red`.
    pub level: &'static str,
    /// `TLP:CLEAR`, …
    pub name: &'static str,
    /// The fixed `marking-definition--…` id.
    pub id: &'static str,
}

/// The five TLP 2.0 marking definitions.
pub const TLP2: [Tlp; 5] = [
    Tlp {
        level: "clear",
        name: "TLP:CLEAR",
        id: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    },
    Tlp {
        level: "green",
        name: "TLP:GREEN",
        id: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    },
    Tlp {
        level: "amber",
        name: "TLP:AMBER",
        id: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    },
    Tlp {
        level: "amber+strict",
        name: "TLP:AMBER+STRICT",
        id: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    },
    Tlp {
        level: "red",
        name: "TLP:RED",
        id: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
    },
];

/// The STIX 2.1 spec's TLP 1.0 marking definitions (accepted on input): (id, restriction).
const TLP1: [(&str, &str); 4] = [
    (
        "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
        "white",
    ),
    (
        "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
        "green",
    ),
    (
        "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
        "amber",
    ),
    (
        "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
        "red",
    ),
];

/// The TLP level of an effective IODEF restriction (`None` for `ext-value`s gridlink does not know).
pub fn tlp_of_restriction(restriction: &str) -> Option<Tlp> {
    let level = match restriction {
        "white" | "public" => "clear",
        "green" | "partner" => "green",
        "amber" | "need-to-know" => "amber",
        "red" | "private" => "red",
        _ => return None,
    };
    TLP2.into_iter().find(|t| t.level == level)
}

/// The IODEF restriction a TLP marking-definition id (TLP 2.0 or 1.0) stands for.
pub fn restriction_of_marking(id: &str) -> Option<&'static str> {
    if let Some(t) = TLP2.iter().find(|t| t.id == id) {
        return Some(match t.level {
            "clear" => "white",
            "amber+strict" => "amber",
            other => other,
        });
    }
    TLP1.iter().find(|(i, _)| *i == id).map(|(_, r)| *r)
}

/// The marking-definition object of `tlp`, as OASIS publishes it.
pub fn marking_object(tlp: Tlp) -> Value {
    json!({
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": tlp.id,
        "created": "2022-10-01T00:00:00.000Z",
        "name": tlp.name,
        "extensions": {
            TLP2_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": tlp.level}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restrictions_and_markings_round_trip() {
        for r in ["white", "green", "amber", "red"] {
            let t = tlp_of_restriction(r).unwrap();
            assert_eq!(restriction_of_marking(t.id), Some(r));
        }
        assert_eq!(tlp_of_restriction("private").unwrap().name, "TLP:RED");
        assert_eq!(tlp_of_restriction("public").unwrap().name, "TLP:CLEAR");
        assert_eq!(tlp_of_restriction("ext-value"), None);
        assert_eq!(restriction_of_marking(TLP1[2].0), Some("amber"));
    }
}
