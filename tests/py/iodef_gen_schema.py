#!/usr/bin/env python3
"""Generate src/iodef/schema/generated.rs from the errata-corrected IODEF v2 XSD (fixtures copy).

Usage: python3 tests/py/iodef_gen_schema.py > src/iodef/schema/generated.rs
The table holds, for every element declaration reachable from the IODEF v2 and RFC 7495 schemas, its
attributes (type, use, default, fixed) and its content (simple type or particle tree). Elements of the
xmldsig and RFC 7203 SCI namespaces are emitted as opaque (any content), see src/iodef/README.md.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from iodef_xsd_verdict import load  # noqa: E402

XS = "{http://www.w3.org/2001/XMLSchema}"
NS = {
    "urn:ietf:params:xml:ns:iodef-2.0": "Ns::Iodef",
    "urn:ietf:params:xml:ns:iodef-enum-1.0": "Ns::Enum",
    "urn:ietf:params:xml:ns:iodef-sci-1.0": "Ns::Sci",
    "http://www.w3.org/2000/09/xmldsig#": "Ns::Ds",
}
BUILTIN = {
    "string": "St::String", "normalizedString": "St::String", "token": "St::String",
    "dateTime": "St::DateTime", "integer": "St::Integer", "float": "St::Float",
    "anyURI": "St::AnyUri", "ID": "St::Id", "IDREF": "St::IdRef", "NCName": "St::NcName",
    "NMTOKEN": "St::NmToken", "hexBinary": "St::HexBinary", "base64Binary": "St::Base64",
    "boolean": "St::Boolean",
}


def qname(n):
    ns, local = n[1:].split("}")
    return ns, local


def st(t):
    """Rust expression for a simple type."""
    if t.__class__.__name__ == "XsdUnion":
        return "St::Lang"
    if t.name and t.name.endswith("}TimezoneType"):
        return "St::Timezone"
    if t.name and t.name.endswith("}PortlistType"):
        return "St::Portlist"
    if t.name and t.name.endswith("}PositiveFloatType"):
        return "St::PositiveFloat"
    if getattr(t, "enumeration", None):
        return "St::Enum(&[%s])" % ", ".join('"%s"' % v for v in t.enumeration)
    b = t
    while b is not None and not (b.name and b.name.startswith(XS)):
        b = b.base_type
    local = b.name[len(XS):]
    if local not in BUILTIN:
        raise SystemExit("unmapped builtin %s" % local)
    return BUILTIN[local]


decls = []  # list of xsd elements (identity)
index = {}


def idx(e):
    e = e.ref if getattr(e, "ref", None) is not None else e
    k = id(e)
    if k not in index:
        index[k] = len(decls)
        decls.append(e)
    return index[k]


def occ(p):
    mx = "u32::MAX" if p.max_occurs is None else str(p.max_occurs)
    return "min: %d, max: %s" % (p.min_occurs, mx)


def particle(p):
    cls = p.__class__.__name__
    if cls == "XsdGroup":
        kind = {"sequence": "Seq", "choice": "Choice"}[p.model]
        items = ", ".join(particle(x) for x in p)
        return "P::%s { %s, items: &[%s] }" % (kind, occ(p), items)
    if cls == "XsdAnyElement":
        other = "##other" in p.namespace if isinstance(p.namespace, (list, tuple, set)) else p.namespace == "##other"
        return "P::Any { %s, lax: %s, other_ns: %s }" % (occ(p), "true" if p.process_contents != "strict" else "false",
                                                          "true" if other else "false")
    return "P::Elem { %s, decl: %d }" % (occ(p), idx(p))


def main():
    s = load(os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "fixtures", "iodef", "schemas")))
    idx(s.elements["IODEF-Document"])
    out = []
    i = 0
    while i < len(decls):
        e = decls[i]
        ns, local = qname(e.name)
        t = e.type
        tyname = ""
        if t.name and t.name.startswith("{urn:ietf:params:xml:ns:iodef-2.0}"):
            tyname = t.name.split("}")[1]
        if NS[ns] in ("Ns::Ds", "Ns::Sci"):
            content = "Content::Opaque"
            attrs = []
        else:
            if t.is_simple():
                content = "Content::Simple(%s)" % st(t)
                attrs = []
            else:
                attrs = []
                for an, a in t.attributes.items():
                    if an is None:
                        continue
                    name = "xml:lang" if an == "{http://www.w3.org/XML/1998/namespace}lang" else an
                    attrs.append('Attr { name: "%s", ty: %s, required: %s, default: %s, fixed: %s }' % (
                        name, st(a.type), "true" if a.use == "required" else "false",
                        'Some("%s")' % a.default if a.default is not None else "None",
                        'Some("%s")' % a.fixed if a.fixed is not None else "None"))
                if t.has_simple_content():
                    content = "Content::Simple(%s)" % st(t.content)
                elif t.is_empty():
                    content = "Content::Empty"
                else:
                    content = "Content::Complex { mixed: %s, model: %s }" % (
                        "true" if t.mixed else "false", particle(t.content))
        out.append('    Decl { ns: %s, name: "%s", ty: "%s", content: %s, attrs: &[%s] },' % (
            NS[ns], local, tyname, content, ", ".join(attrs)))
        i += 1
    print("// @generated by tests/py/iodef_gen_schema.py from")
    print("// tests/fixtures/iodef/schemas/iodef-2.0.milewg-errata-corrected.xsd. Do not edit by hand.")
    print("//! The IODEF v2 schema (errata-corrected XSD) as a static table.")
    print("use super::shape::{Attr, Content, Decl, Ns, Particle as P, St};")
    print()
    print("/// Every element declaration reachable from `IODEF-Document` (index 0).")
    print("pub(crate) static DECLS: &[Decl] = &[")
    print("\n".join(out))
    print("];")


main()
