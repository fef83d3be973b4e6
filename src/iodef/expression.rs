//! Boolean logic of `IndicatorExpression` (RFC 7970 §3.29.4; RFC 8274 §4.3: "implementations must be
//! able to parse and apply the Boolean logic"; no operator means "and"; nested expressions first).

use crate::iodef::arena::Element;
use crate::iodef::schema::NS_IODEF;

/// Evaluates an `IndicatorExpression` element. `leaf` decides each operand that is not itself an
/// expression (`Observable`, `ObservableReference`, `IndicatorReference`). `not` negates the
/// conjunction of its operands; `xor` is true when an odd number of operands are. Returns `None` for
/// an operator gridlink does not know (`ext-value`) anywhere in the tree, or for a non-expression.
pub fn evaluate_expression(
    expr: Element<'_>,
    leaf: &mut dyn FnMut(Element<'_>) -> bool,
) -> Option<bool> {
    if expr.name() != "IndicatorExpression" || expr.ns() != NS_IODEF {
        return None;
    }
    let mut values = Vec::new();
    for k in expr.elements().filter(|k| k.ns() == NS_IODEF) {
        match k.name() {
            "IndicatorExpression" => values.push(evaluate_expression(k, leaf)?),
            "Observable" | "ObservableReference" | "IndicatorReference" => values.push(leaf(k)),
            _ => {}
        }
    }
    let all = values.iter().all(|v| *v);
    match expr.attr("operator").map(str::trim).unwrap_or("and") {
        "and" => Some(all),
        "or" => Some(values.iter().any(|v| *v)),
        "not" => Some(!all),
        "xor" => Some(values.iter().filter(|v| **v).count() % 2 == 1),
        _ => None,
    }
}
