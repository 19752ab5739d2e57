//! Custom templates (SPEC §5.5): Handlebars rendered by the host over the event's JSON, plus
//! `event_key` and `endpoint`. A template that renders JSON with `embeds` is taken as a full
//! message; anything else is the message text.
//!
//! A template is written by an admin but rendered over payloads from outside, on the pipeline
//! thread, so it is bounded before it runs: its size, its nesting, no partials (Handlebars
//! expands them recursively with no depth limit: a partial that includes itself overflows the
//! stack and aborts the process), the work its `each` loops may do over this payload, and the
//! size of what it writes.

use crate::runtime::{Message, PluginEvent};
use crate::store::EndpointRecord;
use handlebars::Handlebars;
use handlebars::template::{Parameter, Template, TemplateElement};
use serde_json::{Value, json};
use std::io::Write;

/// The longest template accepted.
pub const MAX_TEMPLATE_BYTES: usize = 64 * 1024;
/// The deepest nesting of blocks and subexpressions.
pub const MAX_NESTING: usize = 32;
/// The most text one render may write.
pub const MAX_OUTPUT_BYTES: usize = 256 * 1024;
/// The most template elements one render may visit, as estimated before rendering from its
/// `each` loops and the largest array or object in the data.
pub const MAX_RENDER_STEPS: u64 = 1_000_000;

/// Checks that a template compiles and stays within the limits on size and nesting, and uses
/// no partials; the error names the problem (and the line, for a syntax error).
pub fn check(template: &str) -> Result<(), String> {
    compile(template).map(|_| ())
}

/// A template's shape: how many elements sit inside how many `each` loops.
#[derive(Default)]
struct Shape {
    /// `elements_at_loop_depth[d]`: elements inside `d` nested `each` loops.
    elements_at_loop_depth: Vec<u64>,
    /// The longest array literal in the template (a loop may run over it too).
    largest_literal: usize,
}

fn compile(source: &str) -> Result<(Template, Shape), String> {
    if source.len() > MAX_TEMPLATE_BYTES {
        return Err(format!(
            "template is {} bytes; the limit is {MAX_TEMPLATE_BYTES}",
            source.len()
        ));
    }
    let template = Template::compile(source).map_err(|error| error.to_string())?;
    let mut shape = Shape::default();
    shape.walk(&template, 0, 0)?;
    Ok((template, shape))
}

impl Shape {
    fn walk(&mut self, template: &Template, nesting: usize, loops: usize) -> Result<(), String> {
        for element in &template.elements {
            self.walk_element(element, nesting, loops)?;
        }
        Ok(())
    }

    fn walk_element(
        &mut self,
        element: &TemplateElement,
        nesting: usize,
        loops: usize,
    ) -> Result<(), String> {
        if nesting > MAX_NESTING {
            return Err(format!("template nests deeper than {MAX_NESTING} levels"));
        }
        if self.elements_at_loop_depth.len() <= loops {
            self.elements_at_loop_depth.resize(loops + 1, 0);
        }
        self.elements_at_loop_depth[loops] += 1;
        match element {
            TemplateElement::RawString(_) | TemplateElement::Comment(_) => Ok(()),
            TemplateElement::Expression(helper) | TemplateElement::HtmlExpression(helper) => {
                self.walk_parameters(helper.params.iter().chain(helper.hash.values()), nesting)
            }
            TemplateElement::HelperBlock(helper) => {
                self.walk_parameters(helper.params.iter().chain(helper.hash.values()), nesting)?;
                let inner_loops = loops + usize::from(helper.name.as_name() == Some("each"));
                for block in [&helper.template, &helper.inverse].into_iter().flatten() {
                    self.walk(block, nesting + 1, inner_loops)?;
                }
                Ok(())
            }
            TemplateElement::PartialExpression(_)
            | TemplateElement::PartialBlock(_)
            | TemplateElement::DecoratorExpression(_)
            | TemplateElement::DecoratorBlock(_) => {
                Err("partials and decorators are not supported in templates".into())
            }
            // Elements a later Handlebars adds are refused until their cost is known.
            _ => Err("template uses an unsupported construct".into()),
        }
    }

    fn walk_parameters<'a>(
        &mut self,
        parameters: impl Iterator<Item = &'a Parameter>,
        nesting: usize,
    ) -> Result<(), String> {
        for parameter in parameters {
            match parameter {
                Parameter::Subexpression(inner) => {
                    self.walk_element(&inner.element, nesting + 1, 0)?
                }
                Parameter::Literal(literal) => {
                    self.largest_literal = self.largest_literal.max(largest_container(literal))
                }
                Parameter::Name(_) | Parameter::Path(_) => {}
                _ => return Err("template uses an unsupported parameter".into()),
            }
        }
        Ok(())
    }

    /// An upper bound of the elements rendered over data whose largest array or object has
    /// `largest` entries: each loop runs at most that many times.
    fn render_steps(&self, largest: usize) -> u64 {
        let per_loop = largest.max(self.largest_literal).max(1) as u64;
        let mut steps = 0u64;
        let mut multiplier = 1u64;
        for count in &self.elements_at_loop_depth {
            steps = steps.saturating_add(count.saturating_mul(multiplier));
            multiplier = multiplier.saturating_mul(per_loop);
        }
        steps
    }
}

/// The number of entries of the largest array or object anywhere in `value`.
fn largest_container(value: &Value) -> usize {
    let mut largest = 0;
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        match value {
            Value::Array(items) => {
                largest = largest.max(items.len());
                pending.extend(items);
            }
            Value::Object(map) => {
                largest = largest.max(map.len());
                pending.extend(map.values());
            }
            _ => {}
        }
    }
    largest
}

/// Renders a template for an event.
pub fn render(
    template: &str,
    endpoint: &EndpointRecord,
    event: &PluginEvent,
) -> Result<Message, String> {
    let mut data: Value = serde_json::from_str(&event.body).map_err(|error| error.to_string())?;
    if let Value::Object(map) = &mut data {
        map.insert("event_key".into(), json!(event.event_key));
        map.insert(
            "endpoint".into(),
            json!({"id": endpoint.id, "name": endpoint.name}),
        );
    }
    let text = render_value(template, &data)?;
    let trimmed = text.trim();
    if trimmed.starts_with('{')
        && let Ok(message) = serde_json::from_str::<Message>(trimmed)
        && !message.embeds.is_empty()
    {
        return Ok(message);
    }
    Ok(Message {
        text: trimmed.to_string(),
        embeds: Vec::new(),
    })
}

/// Renders a template over `data` within the limits: the text, or why not.
pub fn render_value(template: &str, data: &Value) -> Result<String, String> {
    let (template, shape) = compile(template).map_err(|error| format!("template: {error}"))?;
    let steps = shape.render_steps(largest_container(data));
    if steps > MAX_RENDER_STEPS {
        return Err(format!(
            "template: its loops would take up to {steps} steps over this payload; the limit \
             is {MAX_RENDER_STEPS}"
        ));
    }
    let mut renderer = Handlebars::new();
    // Output goes to chat and JSON, not HTML.
    renderer.register_escape_fn(handlebars::no_escape);
    renderer.register_template("message", template);
    let mut output = CappedOutput::default();
    match renderer.render_to_write("message", data, &mut output) {
        Ok(()) => String::from_utf8(output.bytes).map_err(|error| error.to_string()),
        Err(_) if output.overflowed => {
            Err(format!("template: output exceeds {MAX_OUTPUT_BYTES} bytes"))
        }
        Err(error) => Err(format!("template: {error}")),
    }
}

/// Collects rendered text, refusing to grow past `MAX_OUTPUT_BYTES`.
#[derive(Default)]
struct CappedOutput {
    bytes: Vec<u8>,
    overflowed: bool,
}

impl Write for CappedOutput {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() + bytes.len() > MAX_OUTPUT_BYTES {
            self.overflowed = true;
            return Err(std::io::Error::other("template output limit"));
        }
        self.bytes.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partials_that_would_recurse_are_refused_before_rendering() {
        // Both abort the process with a stack overflow in Handlebars 6 when rendered.
        for template in [
            r#"{{#*inline "p"}}x{{> p}}{{/inline}}{{> p}}"#,
            r#"{{#*inline "p"}}{{> q}}{{/inline}}{{#*inline "q"}}{{> p}}{{/inline}}{{> p}}"#,
        ] {
            let error = render_value(template, &json!({})).unwrap_err();
            assert!(error.contains("partials"), "{error}");
            assert!(check(template).is_err());
        }
    }

    #[test]
    fn nesting_and_size_past_the_limits_are_refused() {
        let nested =
            |depth: usize| format!("{}x{}", "{{#if a}}".repeat(depth), "{{/if}}".repeat(depth));
        assert_eq!(
            render_value(&nested(MAX_NESTING), &json!({"a": true})).unwrap(),
            "x"
        );
        assert!(
            check(&nested(MAX_NESTING + 1))
                .unwrap_err()
                .contains("nests deeper")
        );
        // Far deeper nesting is a syntax error from the parser, not a stack overflow.
        assert!(check(&nested(5000)).is_err());
        assert!(
            check(&"x".repeat(MAX_TEMPLATE_BYTES + 1))
                .unwrap_err()
                .contains("bytes")
        );
    }

    #[test]
    fn loops_over_loops_are_refused_by_their_estimated_steps() {
        let data = json!({"items": (0..1000).collect::<Vec<_>>()});
        let template =
            "{{#each items}}{{#each ../items}}{{#each ../../items}}{{/each}}{{/each}}{{/each}}";
        let error = render_value(template, &data).unwrap_err();
        assert!(error.contains("steps"), "{error}");
        // One loop over the same data is fine.
        assert_eq!(
            render_value("{{#each items}}.{{/each}}", &data)
                .unwrap()
                .len(),
            1000
        );
    }

    #[test]
    fn output_past_the_cap_is_refused() {
        let data = json!({"items": (0..100).collect::<Vec<_>>(), "long": "l".repeat(10_000)});
        let error = render_value("{{#each items}}{{../long}}{{/each}}", &data).unwrap_err();
        assert_eq!(
            error,
            format!("template: output exceeds {MAX_OUTPUT_BYTES} bytes")
        );
    }
}
