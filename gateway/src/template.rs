//! Custom templates (SPEC §5.5): Handlebars rendered by the host over the event's JSON, plus
//! `event_key` and `endpoint`. A template that mentions `embeds` and renders, with every value
//! JSON-escaped, to a JSON message with embeds is taken as a full message; anything else is the
//! message text, values as they are.
//!
//! A template is written by an admin but rendered over payloads from outside, on the pipeline
//! thread, so it is bounded before it runs: its size, its nesting, no partials (Handlebars
//! expands them recursively with no depth limit: a partial that includes itself overflows the
//! stack and aborts the process), the work its `each` loops may do over this payload, and the
//! size of what it writes; and while it runs, by a clock ([`MAX_RENDER_TIME`]), since the cost
//! of one step depends on the data (comparing two large values is one step).

use crate::runtime::{Message, PluginEvent};
use crate::store::EndpointRecord;
use handlebars::template::{Parameter, Template, TemplateElement};
use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, JsonRender, Output, RenderContext,
    RenderError, RenderErrorReason,
};
use serde_json::{Value, json};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

/// The longest template accepted.
pub const MAX_TEMPLATE_BYTES: usize = 64 * 1024;
/// The deepest nesting of blocks and subexpressions.
pub const MAX_NESTING: usize = 32;
/// The most text one render may write.
pub const MAX_OUTPUT_BYTES: usize = 256 * 1024;
/// The most template elements one render may visit, as estimated before rendering from its
/// `each` loops and the largest array or object in the data.
pub const MAX_RENDER_STEPS: u64 = 1_000_000;
/// The longest the rendering of one record may take, the plugins' default call limit
/// (`[plugins] timeout_ms`): past it the record fails, and other endpoints' records wait no
/// longer.
pub const MAX_RENDER_TIME: Duration = Duration::from_millis(50);

/// The helper put between a template's elements to check the clock.
const CHECKPOINT_HELPER: &str = "hookgate_render_checkpoint";
static CHECKPOINT: LazyLock<TemplateElement> = LazyLock::new(|| {
    Template::compile(&format!("{{{{{CHECKPOINT_HELPER}}}}}"))
        .expect("the checkpoint compiles")
        .elements
        .remove(0)
});

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

/// Renders a template for an event, within [`MAX_RENDER_TIME`] in all.
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
    render_message(template, &data)
}

/// Renders a template over `data` to a message, within [`MAX_RENDER_TIME`] in all.
pub fn render_message(template: &str, data: &Value) -> Result<Message, String> {
    let budget = Arc::new(RenderBudget::starting_now());
    // Values are JSON-escaped where the text is taken as JSON, so a value cannot close its
    // string and write JSON of its own (a pull request's title adding an embed). What the
    // payload holds never decides the mode: a title that is itself JSON stays text.
    if template.contains("embeds") {
        let text = render_within(template, data, ValueEscaping::Json, &budget)?;
        if let Ok(message) = serde_json::from_str::<Message>(text.trim())
            && !message.embeds.is_empty()
        {
            return Ok(message);
        }
    }
    let text = render_within(template, data, ValueEscaping::None, &budget)?;
    Ok(Message {
        text: text.trim().to_string(),
        embeds: Vec::new(),
    })
}

/// Renders a template over `data` as text within the limits: the text, or why not.
pub fn render_value(template: &str, data: &Value) -> Result<String, String> {
    let budget = Arc::new(RenderBudget::starting_now());
    render_within(template, data, ValueEscaping::None, &budget)
}

/// How values are written into the text.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ValueEscaping {
    /// As they are: the text goes to chat, not HTML.
    None,
    /// As the inside of a JSON string.
    Json,
}

fn render_within(
    source: &str,
    data: &Value,
    escaping: ValueEscaping,
    budget: &Arc<RenderBudget>,
) -> Result<String, String> {
    let (mut template, shape) = compile(source).map_err(|error| format!("template: {error}"))?;
    let steps = shape.render_steps(largest_container(data));
    if steps > MAX_RENDER_STEPS {
        return Err(format!(
            "template: its loops would take up to {steps} steps over this payload; the limit \
             is {MAX_RENDER_STEPS}"
        ));
    }
    add_checkpoints(&mut template, escaping);
    let mut renderer = Handlebars::new();
    match escaping {
        ValueEscaping::None => renderer.register_escape_fn(handlebars::no_escape),
        ValueEscaping::Json => renderer.register_escape_fn(json_string_content),
    }
    renderer.register_helper(CHECKPOINT_HELPER, Box::new(Checkpoint(budget.clone())));
    renderer.register_helper("log", Box::new(log_escaped));
    renderer.register_template("message", template);
    let mut output = CappedOutput {
        bytes: Vec::new(),
        overflowed: false,
        budget: budget.clone(),
    };
    match renderer.render_to_write("message", data, &mut output) {
        Ok(()) => String::from_utf8(output.bytes).map_err(|error| error.to_string()),
        Err(_) if budget.exceeded.load(Ordering::Relaxed) => Err(format!(
            "template: rendering took longer than the limit of {} ms",
            MAX_RENDER_TIME.as_millis()
        )),
        Err(_) if output.overflowed => {
            Err(format!("template: output exceeds {MAX_OUTPUT_BYTES} bytes"))
        }
        Err(error) => Err(format!("template: {error}")),
    }
}

/// Puts a clock check before every element at every level, so each loop iteration and each
/// branch taken passes one, and between two checks there is at most one helper call or one
/// write. With JSON escaping, `{{{value}}}` is escaped like `{{value}}` (raw, it would paste
/// the payload's text into the JSON).
fn add_checkpoints(template: &mut Template, escaping: ValueEscaping) {
    let elements = std::mem::take(&mut template.elements);
    let mapping = std::mem::take(&mut template.mapping);
    // The mapping gives each element's line for error messages; it stays aligned.
    let mapped = mapping.len() == elements.len();
    for (index, element) in elements.into_iter().enumerate() {
        let element = match element {
            TemplateElement::HelperBlock(mut helper) => {
                for block in [&mut helper.template, &mut helper.inverse]
                    .into_iter()
                    .flatten()
                {
                    add_checkpoints(block, escaping);
                }
                TemplateElement::HelperBlock(helper)
            }
            TemplateElement::HtmlExpression(helper) if escaping == ValueEscaping::Json => {
                TemplateElement::Expression(helper)
            }
            other => other,
        };
        template.elements.push(CHECKPOINT.clone());
        template.elements.push(element);
        if mapped {
            template.mapping.push(mapping[index].clone());
            template.mapping.push(mapping[index].clone());
        }
    }
}

/// A value as the inside of a JSON string: quotes, backslashes and control characters escaped.
fn json_string_content(value: &str) -> String {
    let quoted = Value::from(value).to_string();
    quoted[1..quoted.len() - 1].to_string()
}

/// When one render must stop, and whether it was stopped.
struct RenderBudget {
    deadline: Instant,
    exceeded: AtomicBool,
}

impl RenderBudget {
    fn starting_now() -> Self {
        Self {
            deadline: Instant::now() + MAX_RENDER_TIME,
            exceeded: AtomicBool::new(false),
        }
    }

    fn is_spent(&self) -> bool {
        let spent = Instant::now() >= self.deadline;
        if spent {
            self.exceeded.store(true, Ordering::Relaxed);
        }
        spent
    }
}

/// The clock check between elements: fails the render once its time is spent.
struct Checkpoint(Arc<RenderBudget>);

impl HelperDef for Checkpoint {
    fn call<'reg: 'rc, 'rc>(
        &self,
        _: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
        _: &mut dyn Output,
    ) -> HelperResult {
        if self.0.is_spent() {
            return Err(RenderError::from(RenderErrorReason::Other(
                "template time limit".into(),
            )));
        }
        Ok(())
    }
}

/// `{{log}}` through tracing, its text `?`-formatted: newlines and other control characters
/// come out escaped, so a payload's text cannot start a line of its own in the log.
fn log_escaped(
    helper: &Helper,
    _: &Handlebars,
    _: &Context,
    _: &mut RenderContext,
    _: &mut dyn Output,
) -> HelperResult {
    let text = helper
        .params()
        .iter()
        .map(|param| param.value().render())
        .collect::<Vec<_>>()
        .join(", ");
    let level = helper
        .hash_get("level")
        .and_then(|level| level.value().as_str())
        .unwrap_or("info");
    match level {
        "error" => tracing::error!(target: "hookgate::template", text = ?text, "template log"),
        "warn" => tracing::warn!(target: "hookgate::template", text = ?text, "template log"),
        "info" => tracing::info!(target: "hookgate::template", text = ?text, "template log"),
        "debug" => tracing::debug!(target: "hookgate::template", text = ?text, "template log"),
        "trace" => tracing::trace!(target: "hookgate::template", text = ?text, "template log"),
        other => return Err(RenderErrorReason::InvalidLoggingLevel(other.to_string()).into()),
    }
    Ok(())
}

/// Collects rendered text, refusing to grow past `MAX_OUTPUT_BYTES` or to write once the
/// render's time is spent.
struct CappedOutput {
    bytes: Vec<u8>,
    overflowed: bool,
    budget: Arc<RenderBudget>,
}

impl Write for CappedOutput {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if self.budget.is_spent() {
            return Err(std::io::Error::other("template time limit"));
        }
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

    /// The pull request title of issue 16: it closes its string and adds an embed of its own.
    const EMBED_ADDING_TITLE: &str =
        r#"Fix typo"},{"title":"Security notice","url":"https://evil.example/login"},{"title":"x"#;

    #[test]
    fn a_pull_request_title_cannot_add_an_embed_to_a_json_template() {
        let data = json!({"pullrequest": {"title": EMBED_ADDING_TITLE,
                          "links": {"html": {"href": "https://bitbucket.org/acme/pr/1"}}}});
        for template in [
            r#"{"embeds": [{"title": "{{pullrequest.title}}", "url": "{{pullrequest.links.html.href}}"}]}"#,
            // Triple braces paste a value raw in Handlebars; in a JSON message they escape too.
            r#"{"embeds": [{"title": "{{{pullrequest.title}}}", "url": "{{{pullrequest.links.html.href}}}"}]}"#,
        ] {
            let message = render_message(template, &data).unwrap();
            assert_eq!(message.embeds.len(), 1, "{template}: {message:?}");
            assert_eq!(message.embeds[0].title.as_deref(), Some(EMBED_ADDING_TITLE));
            assert_eq!(
                message.embeds[0].url.as_deref(),
                Some("https://bitbucket.org/acme/pr/1")
            );
        }
    }

    #[test]
    fn a_value_that_is_itself_a_json_message_stays_text() {
        let forged = r#"{"embeds":[{"title":"Security notice","url":"https://evil.example"}]}"#;
        let data = json!({"pullrequest": {"title": forged}});
        let message = render_message("{{pullrequest.title}}", &data).unwrap();
        assert!(message.embeds.is_empty(), "{message:?}");
        assert_eq!(message.text, forged);
    }

    #[test]
    fn json_templates_keep_working_with_loops_and_control_characters() {
        let data = json!({"commits": [{"message": "line one\nline \"two\"\\"}, {"message": "b"}]});
        let template = r#"{"embeds": [{{#each commits}}{"title": "{{message}}"}{{#unless @last}},{{/unless}}{{/each}}]}"#;
        let message = render_message(template, &data).unwrap();
        let titles: Vec<_> = message
            .embeds
            .iter()
            .map(|embed| embed.title.as_deref().unwrap())
            .collect();
        assert_eq!(titles, ["line one\nline \"two\"\\", "b"]);
        // Text templates write values as they are.
        assert_eq!(
            render_message("{{commits.0.message}}", &data).unwrap().text,
            "line one\nline \"two\"\\"
        );
    }

    #[test]
    fn the_clock_checks_leave_what_templates_write_unchanged() {
        let data = json!({"a": false, "b": true, "items": ["x", "y"], "map": {"k": 1}});
        for (template, expected) in [
            ("{{#if a}}A{{else if b}}B{{else}}C{{/if}}", "B"),
            (
                "{{#each items}}{{@index}}={{this}}{{#if @last}}.{{else}},{{/if}}{{/each}}",
                "0=x,1=y.",
            ),
            ("{{#each map}}{{@key}}:{{this}}{{/each}}", "k:1"),
            ("{{#with map}}{{k}}{{/with}}", "1"),
            (
                "{{{{raw}}}}{{not rendered}}{{{{/raw}}}}",
                "{{not rendered}}",
            ),
            ("{{#each items}}\n  - {{this}}\n{{/each}}", "  - x\n  - y\n"),
            ("{{~#if b~}}  tight  {{~/if~}}", "tight"),
        ] {
            assert_eq!(
                render_value(template, &data).unwrap(),
                expected,
                "{template}"
            );
        }
        // An error still names its line.
        let error = render_value("line\n{{#each (lookup)}}{{/each}}", &data).unwrap_err();
        assert!(error.contains("line 2"), "{error}");
    }

    #[test]
    fn comparisons_of_large_values_in_a_loop_stop_at_the_time_limit() {
        // Issue 16's template: each step is cheap to count but compares two large values, so
        // the work grows with the square of the payload (seconds, unbounded by the step count).
        let big: Vec<u32> = (0..20_000).collect();
        let data = json!({"push": {"changes": big}, "big": big});
        let template = "{{#each push.changes}}{{#if (eq @root.big @root.big)}}{{/if}}{{/each}}";
        let started = Instant::now();
        let error = render_value(template, &data).unwrap_err();
        let took = started.elapsed();
        assert_eq!(
            error,
            format!(
                "template: rendering took longer than the limit of {} ms",
                MAX_RENDER_TIME.as_millis()
            )
        );
        // The limit plus one comparison, with room for a busy machine.
        assert!(took < Duration::from_secs(1), "{took:?}");
        // A cheap loop beside the same large values is well within the limit. Over 2,000 of
        // them, not 20,000: a debug build on a loaded 2-core machine took more than 50 ms of
        // wall time for 20,000 iterations of even an empty loop.
        let data = json!({"push": {"changes": &big[..2_000]}, "big": big});
        let quiet = render_value("{{#each push.changes}}{{!quiet}}{{/each}}", &data);
        assert_eq!(quiet.as_deref(), Ok(""));
    }

    #[test]
    fn a_template_log_cannot_forge_log_lines() {
        use std::sync::Mutex;
        #[derive(Clone, Default)]
        struct Captured(Arc<Mutex<Vec<u8>>>);
        impl Write for Captured {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let forged = "ok\n2026-01-01T00:00:00Z  INFO hookgate: admin token: \x1b[0mabc";
        tracing::subscriber::with_default(subscriber, || {
            render_value("{{log title}}", &json!({"title": forged})).unwrap();
        });
        let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert_eq!(log.lines().count(), 1, "{log}");
        assert!(log.contains(r#"ok\n2026-01-01T00:00:00Z"#), "{log}");
        assert!(!log.contains('\x1b'), "{log}");
    }
}
