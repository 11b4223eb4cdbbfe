//! Reading CIM-XML: messages and single elements.
//!
//! The reader pulls events from quick-xml and decodes each element as it
//! arrives, without building a document tree. It never expands anything:
//! a `<!DOCTYPE` is refused on sight, and the only references it resolves
//! are the five predefined entities and numeric character references, so
//! entity-expansion attacks ("billion laughs") fail at their first byte of
//! DTD. Every body is checked against [`Limits`] while it is read.
//!
//! It is tolerant where real clients differ and DSP0201 leaves room:
//! attribute order and letter case of attribute names (`EMBEDDEDOBJECT`),
//! whitespace between elements, `KEYVALUE` without `TYPE` and without
//! `VALUETYPE` (a string), child elements in any order, `CORRELATOR`s,
//! embedded instances as escaped text, CDATA, or `INSTANCE` elements, and
//! a `PROPERTY` without `TYPE` (a string). It is strict about everything
//! that would change meaning: values that do not parse as their type,
//! unknown elements, duplicate parameters, versions it does not speak.

use std::collections::HashSet;

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use crate::integer::parse_integer;
use crate::path::{KeyValue, ObjectPath};
use crate::value::{CimArray, CimType, CimValue, ValueType};
use crate::xml::error::{XmlError, XmlErrorKind as K};
use crate::xml::limits::Limits;
use crate::xml::message::{
    Call, CimError, ExportRequest, ExportResponse, ExtrinsicResult, IReturnValue, IntrinsicResult,
    Message, ParamValue, Reply, Request, Response,
};
use crate::xml::model::{
    Class, EmbeddedKind, Flavors, Instance, InstanceWithPath, Method, Object, ObjectName,
    ObjectWithPath, Parameter, Property, PropertyValue, QualifierDeclaration, QualifierValue,
    Scopes,
};
use crate::xml::operations::{iparam_type, return_value_type};

type Result<T> = std::result::Result<T, XmlError>;

/// Reads any CIM-XML message: an operation request or response, or an
/// export request or response.
///
/// ```
/// use cim::xml::{read_message, Limits, Message};
///
/// let body = br#"<?xml version="1.0" encoding="utf-8" ?>
/// <CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="3" PROTOCOLVERSION="1.0">
///   <SIMPLEEXPRSP><EXPMETHODRESPONSE NAME="ExportIndication"><IRETURNVALUE/></EXPMETHODRESPONSE></SIMPLEEXPRSP>
/// </MESSAGE></CIM>"#;
/// let Message::ExportResponse(r) = read_message(body, &Limits::DEFAULT)? else { panic!() };
/// assert!(r.result.is_ok());
/// # Ok::<(), cim::xml::XmlError>(())
/// ```
pub fn read_message(body: &[u8], limits: &Limits) -> Result<Message> {
    let text = check_body(body, limits)?;
    let mut p = Parser::new(text, limits, 0, 0);
    p.document(|p, root| p.cim(root))
}

/// Reads an operation request (`SIMPLEREQ`), the server side.
///
/// ```
/// use cim::xml::{read_request, Call, Limits};
///
/// let body = br#"<?xml version="1.0" encoding="utf-8" ?>
/// <CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1001" PROTOCOLVERSION="1.0"><SIMPLEREQ>
/// <IMETHODCALL NAME="EnumerateInstanceNames"><LOCALNAMESPACEPATH><NAMESPACE NAME="root"/><NAMESPACE NAME="cimv2"/></LOCALNAMESPACEPATH>
/// <IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="CIM_ConcreteJob"/></IPARAMVALUE></IMETHODCALL>
/// </SIMPLEREQ></MESSAGE></CIM>"#;
/// let req = read_request(body, &Limits::DEFAULT)?;
/// assert_eq!(req.call.namespace(), "root/cimv2");
/// assert_eq!(req.call.param("ClassName").unwrap().as_class_name(), Some("CIM_ConcreteJob"));
/// # Ok::<(), cim::xml::XmlError>(())
/// ```
pub fn read_request(body: &[u8], limits: &Limits) -> Result<Request> {
    match read_message(body, limits)? {
        Message::Request(r) => Ok(r),
        other => Err(wrong_message("SIMPLEREQ", &other)),
    }
}

/// Reads an operation response (`SIMPLERSP`), the client side.
pub fn read_response(body: &[u8], limits: &Limits) -> Result<Response> {
    match read_message(body, limits)? {
        Message::Response(r) => Ok(r),
        other => Err(wrong_message("SIMPLERSP", &other)),
    }
}

/// Reads an export request (`SIMPLEEXPREQ`), the indication listener side.
pub fn read_export_request(body: &[u8], limits: &Limits) -> Result<ExportRequest> {
    match read_message(body, limits)? {
        Message::ExportRequest(r) => Ok(r),
        other => Err(wrong_message("SIMPLEEXPREQ", &other)),
    }
}

/// Reads an export response (`SIMPLEEXPRSP`), the indication sender side.
pub fn read_export_response(body: &[u8], limits: &Limits) -> Result<ExportResponse> {
    match read_message(body, limits)? {
        Message::ExportResponse(r) => Ok(r),
        other => Err(wrong_message("SIMPLEEXPRSP", &other)),
    }
}

/// Reads one `INSTANCE` element, e.g. the text of an embedded instance.
///
/// ```
/// use cim::xml::{read_instance, Limits};
///
/// let i = read_instance(r#"<INSTANCE CLASSNAME="CIM_Error"><PROPERTY NAME="Message" TYPE="string"><VALUE>x</VALUE></PROPERTY></INSTANCE>"#, &Limits::DEFAULT)?;
/// assert_eq!(i.class_name, "CIM_Error");
/// # Ok::<(), cim::xml::XmlError>(())
/// ```
pub fn read_instance(xml: &str, limits: &Limits) -> Result<Instance> {
    let text = check_body(xml.as_bytes(), limits)?;
    let mut p = Parser::new(text, limits, 0, 0);
    p.document(|p, root| match root.name.as_str() {
        "INSTANCE" => p.instance(root),
        _ => Err(root.unexpected_root("INSTANCE")),
    })
}

/// Reads one `CLASS` element.
pub fn read_class(xml: &str, limits: &Limits) -> Result<Class> {
    let text = check_body(xml.as_bytes(), limits)?;
    let mut p = Parser::new(text, limits, 0, 0);
    p.document(|p, root| match root.name.as_str() {
        "CLASS" => p.class(root),
        _ => Err(root.unexpected_root("CLASS")),
    })
}

fn wrong_message(expected: &str, found: &Message) -> XmlError {
    let found = match found {
        Message::Request(_) => "SIMPLEREQ",
        Message::Response(_) => "SIMPLERSP",
        Message::ExportRequest(_) => "SIMPLEEXPREQ",
        Message::ExportResponse(_) => "SIMPLEEXPRSP",
    };
    XmlError::new(
        K::UnexpectedElement,
        format!("expected a {expected} message, found {found}"),
        None,
    )
}

/// Checks size and encoding; returns the text without a UTF-8 BOM.
fn check_body<'b>(body: &'b [u8], limits: &Limits) -> Result<&'b str> {
    if body.len() > limits.max_body_bytes {
        return Err(XmlError::new(
            K::TooLarge,
            format!(
                "the body is {} bytes, above the limit of {} bytes",
                body.len(),
                limits.max_body_bytes
            ),
            None,
        ));
    }
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    // XML 1.0 has no NUL character, raw or as `&#0;` (which quick-xml
    // refuses); accepting a raw one would break the write-then-read
    // round trip, as the writer can only emit U+FFFD for it.
    if let Some(at) = body.iter().position(|&b| b == 0) {
        return Err(XmlError::new(
            K::Syntax,
            "not well-formed XML: a NUL character, which XML 1.0 does not allow",
            Some(at as u64),
        ));
    }
    std::str::from_utf8(body).map_err(|e| {
        XmlError::new(
            K::Encoding,
            "the body is not valid UTF-8",
            Some(e.valid_up_to() as u64),
        )
    })
}

fn is_xml_space(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

/// An element's start tag, decoded.
struct Tag {
    name: String,
    attrs: Vec<(String, String)>,
    pos: u64,
    /// Whether the element's end has been consumed (always true for
    /// `<EMPTY/>` tags).
    done: bool,
}

impl Tag {
    /// An attribute value; names compare ignoring ASCII case.
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn req(&self, name: &str) -> Result<String> {
        self.attr(name).map(str::to_owned).ok_or_else(|| {
            self.err(
                K::MissingAttribute,
                format!("<{}> has no {name} attribute", self.name),
            )
        })
    }

    fn err(&self, kind: K, message: impl Into<String>) -> XmlError {
        XmlError::new(kind, message, Some(self.pos))
    }

    /// A method response carries an ERROR or its return values, never
    /// both (DSP0201 IMETHODRESPONSE and METHODRESPONSE).
    fn error_or<T>(
        &self,
        error: Option<CimError>,
        has_values: bool,
        values: T,
    ) -> Result<std::result::Result<T, CimError>> {
        match error {
            None => Ok(Ok(values)),
            Some(e) if !has_values => Ok(Err(e)),
            Some(_) => Err(self.err(
                K::UnexpectedElement,
                format!("<{}> has both an ERROR and return values", self.name),
            )),
        }
    }

    /// This element is not allowed inside `parent`.
    fn unexpected_in(&self, parent: &str) -> XmlError {
        self.err(
            K::UnexpectedElement,
            format!("<{}> is not allowed in <{parent}>", self.name),
        )
    }

    fn unexpected_root(&self, expected: &str) -> XmlError {
        self.err(
            K::UnexpectedElement,
            format!(
                "expected <{expected}> as the root element, found <{}>",
                self.name
            ),
        )
    }

    fn missing(&self, what: &str) -> XmlError {
        self.err(K::MissingElement, format!("<{}> has no {what}", self.name))
    }

    /// A boolean attribute (`true`/`false`, any case) or its default.
    fn flag(&self, name: &str, default: bool) -> Result<bool> {
        match self.attr(name) {
            None => Ok(default),
            Some(v) if v.trim().eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.trim().eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(self.err(
                K::InvalidAttribute,
                format!(
                    "{name}={v:?} on <{}> is not a boolean (true or false)",
                    self.name
                ),
            )),
        }
    }

    fn cim_type(&self, name: &str) -> Result<Option<CimType>> {
        match self.attr(name) {
            None => Ok(None),
            Some(v) => CimType::from_name(v.trim()).map(Some).ok_or_else(|| {
                self.err(
                    K::InvalidAttribute,
                    format!("{name}={v:?} on <{}> is not a CIM type", self.name),
                )
            }),
        }
    }

    fn array_size(&self) -> Result<Option<u32>> {
        match self.attr("ARRAYSIZE") {
            None => Ok(None),
            Some(v) => v.trim().parse().map(Some).map_err(|_| {
                self.err(
                    K::InvalidAttribute,
                    format!("ARRAYSIZE={v:?} on <{}> is not a size", self.name),
                )
            }),
        }
    }

    fn embedded(&self) -> Result<Option<EmbeddedKind>> {
        match self.attr("EmbeddedObject") {
            None => Ok(None),
            Some(v) => EmbeddedKind::from_attr(v.trim()).map(Some).ok_or_else(|| {
                self.err(
                    K::InvalidAttribute,
                    format!(
                        "EmbeddedObject={v:?} on <{}> is not \"instance\" or \"object\"",
                        self.name
                    ),
                )
            }),
        }
    }

    fn flavors(&self) -> Result<Flavors> {
        let d = Flavors::DEFAULT;
        Ok(Flavors {
            overridable: self.flag("OVERRIDABLE", d.overridable)?,
            to_subclass: self.flag("TOSUBCLASS", d.to_subclass)?,
            to_instance: self.flag("TOINSTANCE", d.to_instance)?,
            translatable: self.flag("TRANSLATABLE", d.translatable)?,
        })
    }
}

/// One step of the document.
enum Item {
    Open(Tag),
    Close,
    Text(String),
    Eof,
}

/// What a `VALUE` holds: text, or (tolerated) one element.
enum Content {
    Text(String),
    Element(Tag),
}

/// What a `*PARAMVALUE` / `RETURNVALUE` declares about its value.
#[derive(Clone, Copy)]
struct Declared {
    ty: Option<ValueType>,
    embedded: Option<EmbeddedKind>,
}

/// A path as one of the wrapper elements carries it.
enum PathPart {
    Instance(ObjectPath),
    Class(ObjectPath),
}

struct Parser<'a> {
    reader: Reader<&'a [u8]>,
    limits: &'a Limits,
    depth: usize,
    elements: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str, limits: &'a Limits, depth: usize, elements: usize) -> Parser<'a> {
        let mut reader = Reader::from_str(text);
        let config = reader.config_mut();
        config.trim_text(false);
        config.check_end_names = true;
        config.expand_empty_elements = false;
        Parser {
            reader,
            limits,
            depth,
            elements,
        }
    }

    // ---- events ----

    fn quick_xml_error(&self, e: quick_xml::Error) -> XmlError {
        use quick_xml::errors::SyntaxError as S;
        use quick_xml::escape::EscapeError;
        let kind = match &e {
            quick_xml::Error::Syntax(
                S::UnclosedTag
                | S::UnclosedCData
                | S::UnclosedComment
                | S::UnclosedDoctype
                | S::UnclosedPI
                | S::UnclosedXmlDecl
                | S::UnclosedSingleQuotedAttributeValue
                | S::UnclosedDoubleQuotedAttributeValue,
            ) => K::Truncated,
            quick_xml::Error::Encoding(_) => K::Encoding,
            quick_xml::Error::Escape(EscapeError::UnrecognizedEntity(..)) => K::Entity,
            _ => K::Syntax,
        };
        XmlError::new(
            kind,
            format!("not well-formed XML: {e}"),
            Some(self.reader.error_position()),
        )
    }

    fn next_item(&mut self) -> Result<Item> {
        loop {
            let pos = self.reader.buffer_position();
            let event = self
                .reader
                .read_event()
                .map_err(|e| self.quick_xml_error(e))?;
            match event {
                Event::Start(e) => return self.tag(&e, pos, false).map(Item::Open),
                Event::Empty(e) => return self.tag(&e, pos, true).map(Item::Open),
                Event::End(_) => {
                    self.depth -= 1;
                    return Ok(Item::Close);
                }
                Event::Text(t) => {
                    let text = t.xml10_content().map_err(|e| self.encoding(e, pos))?;
                    return Ok(Item::Text(text.into_owned()));
                }
                Event::CData(c) => {
                    let text = c.xml10_content().map_err(|e| self.encoding(e, pos))?;
                    return Ok(Item::Text(text.into_owned()));
                }
                Event::GeneralRef(r) => {
                    let resolved = r.resolve_char_ref().map_err(|e| {
                        XmlError::new(K::Syntax, format!("not well-formed XML: {e}"), Some(pos))
                    })?;
                    if let Some(c) = resolved {
                        return Ok(Item::Text(c.to_string()));
                    }
                    let name = r.decode().map_err(|e| self.encoding(e, pos))?;
                    let text = match &*name {
                        "lt" => "<",
                        "gt" => ">",
                        "amp" => "&",
                        "apos" => "'",
                        "quot" => "\"",
                        other => {
                            return Err(XmlError::new(
                                K::Entity,
                                format!(
                                    "entity reference &{other}; is not allowed (only &lt; &gt; &amp; &apos; &quot; and character references are)"
                                ),
                                Some(pos),
                            ))
                        }
                    };
                    return Ok(Item::Text(text.to_owned()));
                }
                Event::Decl(d) => {
                    if let Some(Ok(enc)) = d.encoding() {
                        let enc = String::from_utf8_lossy(&enc).trim().to_ascii_lowercase();
                        if !matches!(enc.as_str(), "utf-8" | "utf8" | "us-ascii" | "ascii") {
                            return Err(XmlError::new(
                                K::Encoding,
                                format!("the XML declaration names encoding {enc:?}; only UTF-8 is accepted"),
                                Some(pos),
                            ));
                        }
                    }
                }
                Event::Comment(_) | Event::PI(_) => {}
                Event::DocType(_) => {
                    return Err(XmlError::new(
                        K::Doctype,
                        "<!DOCTYPE> is not allowed in CIM-XML (no DTDs, no entity declarations)",
                        Some(pos),
                    ))
                }
                Event::Eof => return Ok(Item::Eof),
            }
        }
    }

    fn encoding(&self, e: quick_xml::encoding::EncodingError, pos: u64) -> XmlError {
        XmlError::new(K::Encoding, format!("bad encoding: {e}"), Some(pos))
    }

    /// Decodes a start tag, enforcing the limits.
    fn tag(&mut self, e: &BytesStart<'_>, pos: u64, empty: bool) -> Result<Tag> {
        let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
        self.elements += 1;
        if self.elements > self.limits.max_elements {
            return Err(XmlError::new(
                K::TooManyElements,
                format!(
                    "more than {} elements in the body",
                    self.limits.max_elements
                ),
                Some(pos),
            ));
        }
        if self.depth + 1 > self.limits.max_depth {
            return Err(XmlError::new(
                K::TooDeep,
                format!(
                    "<{name}> nests deeper than the limit of {} elements",
                    self.limits.max_depth
                ),
                Some(pos),
            ));
        }
        if !empty {
            self.depth += 1;
        }
        let mut attrs = Vec::new();
        for a in e.attributes() {
            let a = a.map_err(|err| {
                XmlError::new(
                    K::Syntax,
                    format!("not well-formed XML: bad attribute on <{name}>: {err}"),
                    Some(pos),
                )
            })?;
            let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
            if attrs.len() >= self.limits.max_attributes {
                return Err(XmlError::new(
                    K::TooManyAttributes,
                    format!(
                        "<{name}> has more than {} attributes",
                        self.limits.max_attributes
                    ),
                    Some(pos),
                ));
            }
            if a.value.len() > self.limits.max_attribute_len {
                return Err(XmlError::new(
                    K::AttributeTooLong,
                    format!(
                        "attribute {key} of <{name}> is {} bytes long, above the limit of {}",
                        a.value.len(),
                        self.limits.max_attribute_len
                    ),
                    Some(pos),
                ));
            }
            let value = a
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|e| self.quick_xml_error_at(e, pos))?;
            attrs.push((key, value.into_owned()));
        }
        Ok(Tag {
            name,
            attrs,
            pos,
            done: empty,
        })
    }

    fn quick_xml_error_at(&self, e: quick_xml::Error, pos: u64) -> XmlError {
        let err = self.quick_xml_error(e);
        XmlError::new(err.kind(), err.message(), Some(pos))
    }

    fn truncated(&self, tag: &Tag) -> XmlError {
        XmlError::new(
            K::Truncated,
            format!(
                "the body ends inside <{}> (opened at byte {})",
                tag.name, tag.pos
            ),
            Some(self.reader.buffer_position()),
        )
    }

    /// The next child element of `parent`, skipping whitespace; `None`
    /// once the parent has ended.
    fn next_child(&mut self, parent: &mut Tag) -> Result<Option<Tag>> {
        if parent.done {
            return Ok(None);
        }
        loop {
            match self.next_item()? {
                Item::Open(t) => return Ok(Some(t)),
                Item::Close => {
                    parent.done = true;
                    return Ok(None);
                }
                Item::Text(t) if is_xml_space(&t) => {}
                Item::Text(t) => {
                    let shown: String = t.trim().chars().take(40).collect();
                    return Err(parent.err(
                        K::UnexpectedText,
                        format!("text {shown:?} is not allowed in <{}>", parent.name),
                    ));
                }
                Item::Eof => return Err(self.truncated(parent)),
            }
        }
    }

    /// Requires that `tag` has no further child elements.
    fn expect_end(&mut self, tag: &mut Tag) -> Result<()> {
        match self.next_child(tag)? {
            Some(extra) => Err(extra.unexpected_in(&tag.name)),
            None => Ok(()),
        }
    }

    /// The text of a text-only element.
    fn text_of(&mut self, tag: &mut Tag) -> Result<String> {
        match self.content(tag)? {
            Content::Text(t) => Ok(t),
            Content::Element(e) => Err(e.err(
                K::UnexpectedElement,
                format!(
                    "<{}> is not allowed in <{}>, which holds text",
                    e.name, tag.name
                ),
            )),
        }
    }

    /// The text of an element, or its one child element (whitespace
    /// around it ignored; the caller reads the child, then `expect_end`).
    fn content(&mut self, tag: &mut Tag) -> Result<Content> {
        if tag.done {
            return Ok(Content::Text(String::new()));
        }
        let mut text = String::new();
        loop {
            match self.next_item()? {
                Item::Text(t) => text.push_str(&t),
                Item::Close => {
                    tag.done = true;
                    return Ok(Content::Text(text));
                }
                Item::Open(e) if is_xml_space(&text) => return Ok(Content::Element(e)),
                Item::Open(e) => {
                    return Err(e.err(
                        K::UnexpectedElement,
                        format!("<{}> is not allowed after text in <{}>", e.name, tag.name),
                    ))
                }
                Item::Eof => return Err(self.truncated(tag)),
            }
        }
    }

    /// Skips the rest of `tag`, whatever it holds.
    fn skip(&mut self, tag: &mut Tag) -> Result<()> {
        let mut level = 0usize;
        while !tag.done {
            match self.next_item()? {
                Item::Open(t) if !t.done => level += 1,
                Item::Close if level == 0 => tag.done = true,
                Item::Close => level -= 1,
                Item::Open(_) | Item::Text(_) => {}
                Item::Eof => return Err(self.truncated(tag)),
            }
        }
        Ok(())
    }

    /// Runs `root` on the root element, refusing anything but whitespace,
    /// comments and processing instructions around it.
    fn document<T>(&mut self, root: impl FnOnce(&mut Self, Tag) -> Result<T>) -> Result<T> {
        let tag = loop {
            match self.next_item()? {
                Item::Open(t) => break t,
                Item::Text(t) if is_xml_space(&t) => {}
                Item::Text(_) => {
                    return Err(XmlError::new(
                        K::Syntax,
                        "not well-formed XML: text before the root element",
                        Some(0),
                    ))
                }
                Item::Close | Item::Eof => {
                    return Err(XmlError::new(
                        K::Syntax,
                        "not well-formed XML: no root element",
                        Some(0),
                    ))
                }
            }
        };
        let value = root(self, tag)?;
        loop {
            let pos = self.reader.buffer_position();
            match self.next_item()? {
                Item::Eof => return Ok(value),
                Item::Text(t) if is_xml_space(&t) => {}
                Item::Open(t) => {
                    return Err(t.err(
                        K::Syntax,
                        format!("not well-formed XML: <{}> after the root element", t.name),
                    ))
                }
                Item::Text(_) | Item::Close => {
                    return Err(XmlError::new(
                        K::Syntax,
                        "not well-formed XML: content after the root element",
                        Some(pos),
                    ))
                }
            }
        }
    }

    // ---- envelope ----

    fn cim(&mut self, mut tag: Tag) -> Result<Message> {
        if tag.name != "CIM" {
            return Err(tag.unexpected_root("CIM"));
        }
        let cim_version = tag.req("CIMVERSION")?;
        if !major_is(&cim_version, "2") {
            return Err(tag.err(
                K::UnsupportedCimVersion,
                format!("CIMVERSION {cim_version:?} is not supported (2.x is)"),
            ));
        }
        let dtd_version = tag.req("DTDVERSION")?;
        if !major_is(&dtd_version, "2") {
            return Err(tag.err(
                K::UnsupportedDtdVersion,
                format!("DTDVERSION {dtd_version:?} is not supported (2.x is)"),
            ));
        }
        let Some(child) = self.next_child(&mut tag)? else {
            return Err(tag.missing("MESSAGE"));
        };
        let message = match child.name.as_str() {
            "MESSAGE" => self.message(child)?,
            _ => return Err(child.unexpected_in("CIM")),
        };
        self.expect_end(&mut tag)?;
        Ok(message)
    }

    fn message(&mut self, mut tag: Tag) -> Result<Message> {
        let id = tag.req("ID")?;
        let protocol_version = tag.req("PROTOCOLVERSION")?;
        if !major_is(&protocol_version, "1") {
            return Err(tag.err(
                K::UnsupportedProtocolVersion,
                format!("PROTOCOLVERSION {protocol_version:?} is not supported (1.x is)"),
            ));
        }
        let Some(child) = self.next_child(&mut tag)? else {
            return Err(tag.missing("SIMPLEREQ, SIMPLERSP, SIMPLEEXPREQ or SIMPLEEXPRSP"));
        };
        let message = match child.name.as_str() {
            "SIMPLEREQ" => Message::Request(Request {
                message_id: id,
                protocol_version,
                call: self.simple_req(child)?,
            }),
            "SIMPLERSP" => Message::Response(Response {
                message_id: id,
                protocol_version,
                reply: self.simple_rsp(child)?,
            }),
            "SIMPLEEXPREQ" => {
                let (method, params) = self.simple_exp_req(child)?;
                Message::ExportRequest(ExportRequest {
                    message_id: id,
                    protocol_version,
                    method,
                    params,
                })
            }
            "SIMPLEEXPRSP" => {
                let (method, result) = self.simple_exp_rsp(child)?;
                Message::ExportResponse(ExportResponse {
                    message_id: id,
                    protocol_version,
                    method,
                    result,
                })
            }
            "MULTIREQ" | "MULTIRSP" | "MULTIEXPREQ" | "MULTIEXPRSP" => {
                return Err(child.err(
                    K::MultipleRequestsUnsupported,
                    format!(
                        "<{}>: multiple requests in one message are not supported",
                        child.name
                    ),
                ))
            }
            _ => return Err(child.unexpected_in("MESSAGE")),
        };
        self.expect_end(&mut tag)?;
        Ok(message)
    }

    fn simple_req(&mut self, mut tag: Tag) -> Result<Call> {
        let mut call = None;
        while let Some(mut child) = self.next_child(&mut tag)? {
            match child.name.as_str() {
                "CORRELATOR" => self.skip(&mut child)?,
                "IMETHODCALL" if call.is_none() => call = Some(self.imethodcall(child)?),
                "METHODCALL" if call.is_none() => call = Some(self.methodcall(child)?),
                _ => return Err(child.unexpected_in("SIMPLEREQ")),
            }
        }
        call.ok_or_else(|| tag.missing("IMETHODCALL or METHODCALL"))
    }

    fn imethodcall(&mut self, mut tag: Tag) -> Result<Call> {
        let name = tag.req("NAME")?;
        let mut namespace = None;
        let mut params = Params::default();
        while let Some(child) = self.next_child(&mut tag)? {
            match child.name.as_str() {
                "LOCALNAMESPACEPATH" if namespace.is_none() => {
                    namespace = Some(self.local_namespace_path(child)?)
                }
                "IPARAMVALUE" => {
                    let pos = child.pos;
                    let (n, v) = self.named_param(child, &name)?;
                    params.push(n, v, pos)?;
                }
                _ => return Err(child.unexpected_in("IMETHODCALL")),
            }
        }
        let namespace = namespace.ok_or_else(|| tag.missing("LOCALNAMESPACEPATH"))?;
        Ok(Call::Intrinsic {
            namespace,
            name,
            params: params.list,
        })
    }

    fn methodcall(&mut self, mut tag: Tag) -> Result<Call> {
        let method = tag.req("NAME")?;
        let mut target = None;
        let mut params = Params::default();
        while let Some(child) = self.next_child(&mut tag)? {
            match child.name.as_str() {
                "LOCALINSTANCEPATH" if target.is_none() => {
                    target = Some((self.local_instance_path(child)?, false))
                }
                "LOCALCLASSPATH" if target.is_none() => {
                    target = Some((self.local_class_path(child)?, true))
                }
                "PARAMVALUE" => {
                    let pos = child.pos;
                    let (n, v) = self.named_param(child, &method)?;
                    params.push(n, v, pos)?;
                }
                _ => return Err(child.unexpected_in("METHODCALL")),
            }
        }
        let (target, target_is_class) =
            target.ok_or_else(|| tag.missing("LOCALINSTANCEPATH or LOCALCLASSPATH"))?;
        Ok(Call::Extrinsic {
            target,
            target_is_class,
            method,
            params: params.list,
        })
    }

    fn simple_rsp(&mut self, mut tag: Tag) -> Result<Reply> {
        let mut reply = None;
        while let Some(mut child) = self.next_child(&mut tag)? {
            match child.name.as_str() {
                "CORRELATOR" => self.skip(&mut child)?,
                "IMETHODRESPONSE" if reply.is_none() => reply = Some(self.imethodresponse(child)?),
                "METHODRESPONSE" if reply.is_none() => reply = Some(self.methodresponse(child)?),
                _ => return Err(child.unexpected_in("SIMPLERSP")),
            }
        }
        reply.ok_or_else(|| tag.missing("IMETHODRESPONSE or METHODRESPONSE"))
    }

    fn imethodresponse(&mut self, mut tag: Tag) -> Result<Reply> {
        let name = tag.req("NAME")?;
        let mut error = None;
        let mut value = None;
        let mut params = Params::default();
        while let Some(child) = self.next_child(&mut tag)? {
            match child.name.as_str() {
                "ERROR" if error.is_none() => error = Some(self.error(child)?),
                "IRETURNVALUE" if value.is_none() => {
                    value = Some(self.ireturn_value(child, &name)?)
                }
                "PARAMVALUE" => {
                    let pos = child.pos;
                    let (n, v) = self.named_param(child, &name)?;
                    params.push(n, v, pos)?;
                }
                _ => return Err(child.unexpected_in("IMETHODRESPONSE")),
            }
        }
        let has_values = value.is_some() || !params.list.is_empty();
        let values = IntrinsicResult {
            value: value.flatten(),
            params: params.list,
        };
        let result = tag.error_or(error, has_values, values)?;
        Ok(Reply::Intrinsic { name, result })
    }

    fn methodresponse(&mut self, mut tag: Tag) -> Result<Reply> {
        let name = tag.req("NAME")?;
        let mut error = None;
        let mut return_value = None;
        let mut params = Params::default();
        while let Some(mut child) = self.next_child(&mut tag)? {
            match child.name.as_str() {
                "ERROR" if error.is_none() => error = Some(self.error(child)?),
                "RETURNVALUE" if return_value.is_none() => {
                    let declared = self.declared(&child, None)?;
                    return_value = Some(self.param_content(&mut child, declared, "RETURNVALUE")?);
                }
                "PARAMVALUE" => {
                    let pos = child.pos;
                    let (n, v) = self.named_param(child, &name)?;
                    params.push(n, v, pos)?;
                }
                _ => return Err(child.unexpected_in("METHODRESPONSE")),
            }
        }
        let has_values = return_value.is_some() || !params.list.is_empty();
        let values = ExtrinsicResult {
            return_value,
            params: params.list,
        };
        let result = tag.error_or(error, has_values, values)?;
        Ok(Reply::Extrinsic { name, result })
    }

    fn simple_exp_req(&mut self, mut tag: Tag) -> Result<(String, Vec<(String, ParamValue)>)> {
        let mut call = None;
        while let Some(mut child) = self.next_child(&mut tag)? {
            match child.name.as_str() {
                "CORRELATOR" => self.skip(&mut child)?,
                "EXPMETHODCALL" if call.is_none() => {
                    let method = child.req("NAME")?;
                    let mut params = Params::default();
                    while let Some(p) = self.next_child(&mut child)? {
                        match p.name.as_str() {
                            "EXPPARAMVALUE" => {
                                let pos = p.pos;
                                let (n, v) = self.named_param(p, &method)?;
                                params.push(n, v, pos)?;
                            }
                            _ => return Err(p.unexpected_in("EXPMETHODCALL")),
                        }
                    }
                    call = Some((method, params.list));
                }
                _ => return Err(child.unexpected_in("SIMPLEEXPREQ")),
            }
        }
        call.ok_or_else(|| tag.missing("EXPMETHODCALL"))
    }

    fn simple_exp_rsp(
        &mut self,
        mut tag: Tag,
    ) -> Result<(String, std::result::Result<(), CimError>)> {
        let mut out = None;
        while let Some(mut child) = self.next_child(&mut tag)? {
            match child.name.as_str() {
                "CORRELATOR" => self.skip(&mut child)?,
                "EXPMETHODRESPONSE" if out.is_none() => {
                    let method = child.req("NAME")?;
                    let mut result = Ok(());
                    while let Some(mut r) = self.next_child(&mut child)? {
                        match r.name.as_str() {
                            "ERROR" => result = Err(self.error(r)?),
                            // The listener's return value carries nothing
                            // a sender acts on.
                            "IRETURNVALUE" => self.skip(&mut r)?,
                            _ => return Err(r.unexpected_in("EXPMETHODRESPONSE")),
                        }
                    }
                    out = Some((method, result));
                }
                _ => return Err(child.unexpected_in("SIMPLEEXPRSP")),
            }
        }
        out.ok_or_else(|| tag.missing("EXPMETHODRESPONSE"))
    }

    fn error(&mut self, mut tag: Tag) -> Result<CimError> {
        let code_text = tag.req("CODE")?;
        let code = code_text.trim().parse::<u32>().map_err(|_| {
            tag.err(
                K::InvalidValue,
                format!("ERROR CODE={code_text:?} is not a status code"),
            )
        })?;
        let description = tag.attr("DESCRIPTION").map(str::to_owned);
        let mut instances = Vec::new();
        while let Some(child) = self.next_child(&mut tag)? {
            match child.name.as_str() {
                "INSTANCE" => instances.push(self.instance(child)?),
                _ => return Err(child.unexpected_in("ERROR")),
            }
        }
        Ok(CimError {
            code,
            description,
            instances,
        })
    }

    fn ireturn_value(&mut self, mut tag: Tag, operation: &str) -> Result<Option<IReturnValue>> {
        let Some(first) = self.next_child(&mut tag)? else {
            return Ok(IReturnValue::empty_for(operation));
        };
        if matches!(
            first.name.as_str(),
            "VALUE" | "VALUE.ARRAY" | "VALUE.REFERENCE" | "VALUE.REFARRAY" | "VALUE.NULL"
        ) {
            let declared = Declared {
                ty: return_value_type(operation),
                embedded: None,
            };
            let v = self.param_child(first, declared, "IRETURNVALUE")?;
            self.expect_end(&mut tag)?;
            return Ok(Some(IReturnValue::Value(v)));
        }
        let mut out = match first.name.as_str() {
            "CLASSNAME" => IReturnValue::ClassNames(Vec::new()),
            "INSTANCENAME" => IReturnValue::InstanceNames(Vec::new()),
            "VALUE.OBJECTWITHPATH" => IReturnValue::ObjectsWithPath(Vec::new()),
            "VALUE.OBJECTWITHLOCALPATH" => IReturnValue::ObjectsWithLocalPath(Vec::new()),
            "VALUE.OBJECT" => IReturnValue::Objects(Vec::new()),
            "OBJECTPATH" => IReturnValue::ObjectPaths(Vec::new()),
            "QUALIFIER.DECLARATION" => IReturnValue::QualifierDeclarations(Vec::new()),
            "CLASS" => IReturnValue::Classes(Vec::new()),
            "INSTANCE" => IReturnValue::Instances(Vec::new()),
            "INSTANCEPATH" => IReturnValue::InstancePaths(Vec::new()),
            "VALUE.NAMEDINSTANCE" => IReturnValue::NamedInstances(Vec::new()),
            "VALUE.INSTANCEWITHPATH" => IReturnValue::InstancesWithPath(Vec::new()),
            _ => return Err(first.unexpected_in("IRETURNVALUE")),
        };
        let mut next = Some(first);
        while let Some(child) = next {
            match (&mut out, child.name.as_str()) {
                (IReturnValue::ClassNames(v), "CLASSNAME") => v.push(self.class_name(child)?),
                (IReturnValue::InstanceNames(v), "INSTANCENAME") => {
                    v.push(self.instance_name(child)?)
                }
                (IReturnValue::ObjectsWithPath(v), "VALUE.OBJECTWITHPATH")
                | (IReturnValue::ObjectsWithLocalPath(v), "VALUE.OBJECTWITHLOCALPATH") => {
                    v.push(self.object_with_path(child)?)
                }
                (IReturnValue::Objects(v), "VALUE.OBJECT") => v.push(self.value_object(child)?),
                (IReturnValue::ObjectPaths(v), "OBJECTPATH") => v.push(self.object_path(child)?),
                (IReturnValue::QualifierDeclarations(v), "QUALIFIER.DECLARATION") => {
                    v.push(self.qualifier_declaration(child)?)
                }
                (IReturnValue::Classes(v), "CLASS") => v.push(self.class(child)?),
                (IReturnValue::Instances(v), "INSTANCE") => v.push(self.instance(child)?),
                (IReturnValue::InstancePaths(v), "INSTANCEPATH") => {
                    v.push(self.instance_path(child)?)
                }
                (IReturnValue::NamedInstances(v), "VALUE.NAMEDINSTANCE")
                | (IReturnValue::InstancesWithPath(v), "VALUE.INSTANCEWITHPATH") => {
                    v.push(self.instance_with_path(child)?)
                }
                _ => {
                    return Err(child.err(
                        K::UnexpectedElement,
                        format!(
                            "<{}> is not allowed in an <IRETURNVALUE> that holds a different kind of element",
                            child.name
                        ),
                    ))
                }
            }
            next = self.next_child(&mut tag)?;
        }
        Ok(Some(out))
    }

    // ---- parameters ----

    /// What a parameter element declares about its value: `PARAMTYPE`
    /// (or, for intrinsic and pull parameters, the DSP0200 type of the
    /// name) and `EmbeddedObject`.
    fn declared(&self, tag: &Tag, name: Option<&str>) -> Result<Declared> {
        let mut embedded = tag.embedded()?;
        let ty = match tag.cim_type("PARAMTYPE")? {
            Some(CimType::Instance) => {
                embedded.get_or_insert(EmbeddedKind::Instance);
                None
            }
            Some(ty) if ty == CimType::Reference || embedded.is_none() => Some(ValueType {
                ty,
                is_array: false,
            }),
            Some(_) => None,
            None => name.and_then(iparam_type),
        };
        Ok(Declared { ty, embedded })
    }

    /// `IPARAMVALUE`, `PARAMVALUE` or `EXPPARAMVALUE`: the name and value.
    fn named_param(&mut self, mut tag: Tag, operation: &str) -> Result<(String, ParamValue)> {
        let name = tag.req("NAME")?;
        let typed_by_name = tag.name == "IPARAMVALUE"
            || (tag.name == "PARAMVALUE" && crate::xml::intrinsic_operation(operation).is_some());
        let declared = self.declared(&tag, typed_by_name.then_some(name.as_str()))?;
        let label = format!("parameter {name}");
        let value = self.param_content(&mut tag, declared, &label)?;
        Ok((name, value))
    }

    /// The content of a parameter-like element: nothing (NULL) or one
    /// value element.
    fn param_content(
        &mut self,
        tag: &mut Tag,
        declared: Declared,
        label: &str,
    ) -> Result<ParamValue> {
        let Some(child) = self.next_child(tag)? else {
            return Ok(ParamValue::Null);
        };
        let value = self.param_child(child, declared, label)?;
        self.expect_end(tag)?;
        Ok(value)
    }

    fn param_child(
        &mut self,
        mut child: Tag,
        declared: Declared,
        label: &str,
    ) -> Result<ParamValue> {
        Ok(match child.name.as_str() {
            "VALUE" => {
                let scalar = declared.ty.map(|t| t.ty);
                match self.value(&mut child, scalar, declared.embedded.is_some(), label)? {
                    None => ParamValue::Null,
                    Some(PropertyValue::Instance(i)) => ParamValue::Instance(i),
                    Some(PropertyValue::Instances(v)) => ParamValue::Instances(v),
                    Some(PropertyValue::Cim(v)) => match declared.ty {
                        Some(t) if t.is_array => ParamValue::Value(CimValue::Array(
                            CimArray::new(t.ty, vec![v])
                                .map_err(|e| child.err(K::InvalidValue, format!("{label}: {e}")))?,
                        )),
                        Some(_) => ParamValue::Value(v),
                        None => match v {
                            CimValue::String(s) => ParamValue::Text(s),
                            v => ParamValue::Value(v),
                        },
                    },
                }
            }
            "VALUE.ARRAY" => {
                let elem = declared.ty.map(|t| t.ty);
                match self.value_array(child, elem, declared.embedded.is_some(), label)? {
                    PropertyValue::Instances(v) => ParamValue::Instances(v),
                    PropertyValue::Instance(i) => ParamValue::Instances(vec![*i]),
                    PropertyValue::Cim(v) if elem.is_some() => ParamValue::Value(v),
                    PropertyValue::Cim(v) => ParamValue::TextArray(
                        v.as_array()
                            .map(|a| a.items().iter().map(|s| s.to_string()).collect())
                            .unwrap_or_default(),
                    ),
                }
            }
            "VALUE.REFERENCE" => {
                ParamValue::Value(CimValue::Reference(self.value_reference(child)?))
            }
            "VALUE.REFARRAY" => ParamValue::Value(self.ref_array(child)?),
            "VALUE.NULL" => {
                self.expect_end(&mut child)?;
                ParamValue::Null
            }
            "INSTANCENAME" => ParamValue::InstanceName(self.instance_name(child)?),
            "CLASSNAME" => ParamValue::ClassName(self.class_name(child)?),
            "INSTANCE" => ParamValue::Instance(Box::new(self.instance(child)?)),
            "VALUE.NAMEDINSTANCE" => {
                ParamValue::NamedInstance(Box::new(self.instance_with_path(child)?))
            }
            "CLASS" => ParamValue::Class(Box::new(self.class(child)?)),
            "QUALIFIER.DECLARATION" => {
                ParamValue::QualifierDeclaration(Box::new(self.qualifier_declaration(child)?))
            }
            _ => {
                return Err(child.err(
                    K::UnexpectedElement,
                    format!("{label}: <{}> is not a parameter value", child.name),
                ))
            }
        })
    }

    // ---- values ----

    /// A `VALUE`: typed as `ty` (untyped text as a string when `None`), an
    /// embedded instance (escaped text, or a tolerated `INSTANCE` child),
    /// or `None` for an empty embedded value.
    fn value(
        &mut self,
        tag: &mut Tag,
        ty: Option<CimType>,
        embedded: bool,
        label: &str,
    ) -> Result<Option<PropertyValue>> {
        match self.content(tag)? {
            Content::Element(e) if e.name == "INSTANCE" => {
                let i = self.instance(e)?;
                self.expect_end(tag)?;
                Ok(Some(PropertyValue::Instance(Box::new(i))))
            }
            Content::Element(e) => Err(e.err(
                K::UnexpectedElement,
                format!("{label}: <{}> is not allowed in <VALUE>", e.name),
            )),
            Content::Text(t) if embedded || ty == Some(CimType::Instance) => Ok(self
                .embedded(&t, tag.pos, label)?
                .map(|i| PropertyValue::Instance(Box::new(i)))),
            Content::Text(t) => {
                let ty = ty.unwrap_or(CimType::String);
                CimValue::parse(ty, &t)
                    .map(|v| Some(PropertyValue::Cim(v)))
                    .map_err(|e| tag.err(K::InvalidValue, format!("{label}: {e}")))
            }
        }
    }

    /// A `VALUE.ARRAY` of `ty` (strings when `None`) or of embedded
    /// instances.
    fn value_array(
        &mut self,
        mut tag: Tag,
        ty: Option<CimType>,
        embedded: bool,
        label: &str,
    ) -> Result<PropertyValue> {
        let ty = ty.unwrap_or(CimType::String);
        let embedded = embedded || ty == CimType::Instance;
        let mut typed = Vec::new();
        let mut instances = Vec::new();
        while let Some(mut child) = self.next_child(&mut tag)? {
            match child.name.as_str() {
                "VALUE" => match self.value(&mut child, Some(ty), embedded, label)? {
                    Some(PropertyValue::Cim(v)) => typed.push(v),
                    Some(PropertyValue::Instance(i)) => instances.push(*i),
                    Some(PropertyValue::Instances(v)) => instances.extend(v),
                    None => return Err(null_element(&child, label)),
                },
                "VALUE.NULL" => return Err(null_element(&child, label)),
                _ => return Err(child.unexpected_in("VALUE.ARRAY")),
            }
        }
        if embedded || !instances.is_empty() {
            if !typed.is_empty() {
                return Err(tag.err(
                    K::InvalidValue,
                    format!("{label}: array mixes embedded instances and {ty} values"),
                ));
            }
            return Ok(PropertyValue::Instances(instances));
        }
        let array = CimArray::new(ty, typed)
            .map_err(|e| tag.err(K::InvalidValue, format!("{label}: {e}")))?;
        Ok(PropertyValue::Cim(CimValue::Array(array)))
    }

    fn ref_array(&mut self, mut tag: Tag) -> Result<CimValue> {
        let mut items = Vec::new();
        while let Some(child) = self.next_child(&mut tag)? {
            match child.name.as_str() {
                "VALUE.REFERENCE" => items.push(CimValue::Reference(self.value_reference(child)?)),
                "VALUE.NULL" => return Err(null_element(&child, "VALUE.REFARRAY")),
                _ => return Err(child.unexpected_in("VALUE.REFARRAY")),
            }
        }
        Ok(CimValue::Array(
            CimArray::new(CimType::Reference, items).expect("all items are references"),
        ))
    }

    /// Parses the text of an embedded object; `None` if it is empty.
    fn embedded(&mut self, text: &str, pos: u64, label: &str) -> Result<Option<Instance>> {
        if is_xml_space(text) {
            return Ok(None);
        }
        // The embedded root sits inside the VALUE that carried it.
        let mut sub = Parser::new(text, self.limits, self.depth + 1, self.elements);
        let result = sub.document(|p, root| match root.name.as_str() {
            "INSTANCE" => p.instance(root),
            "CLASS" => Err(root.err(
                K::Unsupported,
                "embedded classes (EmbeddedObject=\"object\" holding a CLASS) are not supported",
            )),
            _ => Err(root.unexpected_root("INSTANCE")),
        });
        self.elements = sub.elements;
        result.map(Some).map_err(|e| {
            let at = e
                .position()
                .map(|p| format!(" at byte {p} of the embedded text"))
                .unwrap_or_default();
            XmlError::new(
                e.kind(),
                format!("{label}: embedded instance{at}: {}", e.message()),
                Some(pos),
            )
        })
    }

    // ---- paths ----

    fn local_namespace_path(&mut self, mut tag: Tag) -> Result<String> {
        let mut segments = Vec::new();
        while let Some(mut child) = self.next_child(&mut tag)? {
            match child.name.as_str() {
                "NAMESPACE" => {
                    let name = child.req("NAME")?;
                    self.expect_end(&mut child)?;
                    // One NAMESPACE may carry several segments
                    // ("root/cimv2"); keep them trimmed and non-empty,
                    // as the writer writes them, so "a//b" reads as "a/b".
                    segments.extend(
                        name.split('/')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(str::to_owned),
                    );
                }
                _ => return Err(child.unexpected_in("LOCALNAMESPACEPATH")),
            }
        }
        Ok(segments.join("/"))
    }

    /// `NAMESPACEPATH`: (host, namespace).
    fn namespace_path(&mut self, mut tag: Tag) -> Result<(Option<String>, String)> {
        let mut host = None;
        let mut namespace = None;
        while let Some(mut child) = self.next_child(&mut tag)? {
            match child.name.as_str() {
                "HOST" if host.is_none() => host = Some(self.text_of(&mut child)?),
                "LOCALNAMESPACEPATH" if namespace.is_none() => {
                    namespace = Some(self.local_namespace_path(child)?)
                }
                _ => return Err(child.unexpected_in("NAMESPACEPATH")),
            }
        }
        let namespace = namespace.ok_or_else(|| tag.missing("LOCALNAMESPACEPATH"))?;
        let host = host.map(|h| h.trim().to_owned()).filter(|h| !h.is_empty());
        Ok((host, namespace))
    }

    fn class_name(&mut self, mut tag: Tag) -> Result<String> {
        let name = tag.req("NAME")?;
        self.expect_end(&mut tag)?;
        Ok(name)
    }

    fn instance_name(&mut self, mut tag: Tag) -> Result<ObjectPath> {
        let class_name = tag.req("CLASSNAME")?;
        let mut path = ObjectPath {
            host: None,
            namespace: None,
            class_name,
            keys: Vec::new(),
        };
        let mut seen = HashSet::new();
        while let Some(child) = self.next_child(&mut tag)? {
            match child.name.as_str() {
                "KEYBINDING" => {
                    let pos = child.pos;
                    let (name, value) = self.key_binding(child)?;
                    if !seen.insert(name.to_ascii_lowercase()) {
                        return Err(XmlError::new(
                            K::InvalidValue,
                            format!("INSTANCENAME of {}: key {name} is bound twice", path.class_name),
                            Some(pos),
                        ));
                    }
                    path.keys.push((name, value));
                }
                "KEYVALUE" | "VALUE.REFERENCE" => {
                    return Err(child.err(
                        K::Unsupported,
                        format!(
                            "INSTANCENAME of {}: a key value without KEYBINDING (an unnamed key) is not supported",
                            path.class_name
                        ),
                    ))
                }
                _ => return Err(child.unexpected_in("INSTANCENAME")),
            }
        }
        Ok(path)
    }

    fn key_binding(&mut self, mut tag: Tag) -> Result<(String, KeyValue)> {
        let name = tag.req("NAME")?;
        let Some(child) = self.next_child(&mut tag)? else {
            return Err(tag.missing(&format!("KEYVALUE or VALUE.REFERENCE for key {name}")));
        };
        let value = match child.name.as_str() {
            "KEYVALUE" => self.key_value(child, &name)?,
            "VALUE.REFERENCE" => KeyValue::Reference(Box::new(self.value_reference(child)?)),
            _ => return Err(child.unexpected_in("KEYBINDING")),
        };
        self.expect_end(&mut tag)?;
        Ok((name, value))
    }

    fn key_value(&mut self, mut tag: Tag, key: &str) -> Result<KeyValue> {
        let value_type = tag.attr("VALUETYPE").unwrap_or("string").trim().to_owned();
        let ty = tag.cim_type("TYPE")?;
        let text = self.text_of(&mut tag)?;
        let bad = |what: &str| {
            tag.err(
                K::InvalidValue,
                format!("KEYVALUE of key {key}: {text:?} is not a valid {what}"),
            )
        };
        if value_type.eq_ignore_ascii_case("string") {
            Ok(KeyValue::String(text))
        } else if value_type.eq_ignore_ascii_case("boolean") {
            match CimValue::parse(CimType::Boolean, &text) {
                Ok(CimValue::Boolean(b)) => Ok(KeyValue::Boolean(b)),
                _ => Err(bad("boolean (TRUE or FALSE)")),
            }
        } else if value_type.eq_ignore_ascii_case("numeric") {
            if ty.is_some_and(|t| t.is_real()) {
                return Err(tag.err(
                    K::Unsupported,
                    format!("KEYVALUE of key {key}: real-valued keys are not supported"),
                ));
            }
            let i = parse_integer(text.trim())
                .flatten()
                .ok_or_else(|| bad("integer"))?;
            if let Some(t) = ty.filter(CimType::is_integer) {
                CimValue::from_integer(t, i)
                    .map_err(|e| tag.err(K::InvalidValue, format!("KEYVALUE of key {key}: {e}")))?;
            }
            Ok(KeyValue::Integer(i))
        } else {
            Err(tag.err(
                K::InvalidAttribute,
                format!(
                    "KEYVALUE of key {key}: VALUETYPE={value_type:?} is not string, boolean or numeric"
                ),
            ))
        }
    }

    fn instance_path(&mut self, tag: Tag) -> Result<ObjectPath> {
        match self.path_pair(tag, true, false)? {
            PathPart::Instance(p) => Ok(p),
            PathPart::Class(_) => unreachable!("path_pair asked for an instance path"),
        }
    }

    fn local_instance_path(&mut self, tag: Tag) -> Result<ObjectPath> {
        match self.path_pair(tag, false, false)? {
            PathPart::Instance(p) => Ok(p),
            PathPart::Class(_) => unreachable!("path_pair asked for an instance path"),
        }
    }

    fn class_path(&mut self, tag: Tag) -> Result<ObjectPath> {
        match self.path_pair(tag, true, true)? {
            PathPart::Class(p) => Ok(p),
            PathPart::Instance(_) => unreachable!("path_pair asked for a class path"),
        }
    }

    fn local_class_path(&mut self, tag: Tag) -> Result<ObjectPath> {
        match self.path_pair(tag, false, true)? {
            PathPart::Class(p) => Ok(p),
            PathPart::Instance(_) => unreachable!("path_pair asked for a class path"),
        }
    }

    /// `(LOCAL)INSTANCEPATH` / `(LOCAL)CLASSPATH`: a namespace path and an
    /// instance or class name.
    fn path_pair(&mut self, mut tag: Tag, with_host: bool, class: bool) -> Result<PathPart> {
        let ns_element = if with_host {
            "NAMESPACEPATH"
        } else {
            "LOCALNAMESPACEPATH"
        };
        let name_element = if class { "CLASSNAME" } else { "INSTANCENAME" };
        let mut ns = None;
        let mut path = None;
        while let Some(child) = self.next_child(&mut tag)? {
            if child.name == ns_element && ns.is_none() {
                ns = Some(if with_host {
                    self.namespace_path(child)?
                } else {
                    (None, self.local_namespace_path(child)?)
                });
            } else if child.name == name_element && path.is_none() {
                path = Some(if class {
                    ObjectPath::new(None, &self.class_name(child)?)
                } else {
                    self.instance_name(child)?
                });
            } else {
                return Err(child.unexpected_in(&tag.name));
            }
        }
        let (host, namespace) = ns.ok_or_else(|| tag.missing(ns_element))?;
        let mut path = path.ok_or_else(|| tag.missing(name_element))?;
        path.host = host;
        path.namespace = (!namespace.is_empty()).then_some(namespace);
        Ok(if class {
            PathPart::Class(path)
        } else {
            PathPart::Instance(path)
        })
    }

    fn value_reference(&mut self, mut tag: Tag) -> Result<ObjectPath> {
        let Some(child) = self.next_child(&mut tag)? else {
            return Err(tag.missing("path"));
        };
        let path = match child.name.as_str() {
            "INSTANCEPATH" => self.instance_path(child)?,
            "LOCALINSTANCEPATH" => self.local_instance_path(child)?,
            "INSTANCENAME" => self.instance_name(child)?,
            "CLASSPATH" => self.class_path(child)?,
            "LOCALCLASSPATH" => self.local_class_path(child)?,
            "CLASSNAME" => ObjectPath::new(None, &self.class_name(child)?),
            _ => return Err(child.unexpected_in("VALUE.REFERENCE")),
        };
        self.expect_end(&mut tag)?;
        Ok(path)
    }

    fn object_path(&mut self, mut tag: Tag) -> Result<ObjectName> {
        let Some(child) = self.next_child(&mut tag)? else {
            return Err(tag.missing("INSTANCEPATH or CLASSPATH"));
        };
        let name = match child.name.as_str() {
            "INSTANCEPATH" => ObjectName::Instance(self.instance_path(child)?),
            "CLASSPATH" => ObjectName::Class(self.class_path(child)?),
            _ => return Err(child.unexpected_in("OBJECTPATH")),
        };
        self.expect_end(&mut tag)?;
        Ok(name)
    }

    // ---- objects ----

    /// The children of the path-and-object wrappers, in any order.
    fn path_and_object(&mut self, mut tag: Tag) -> Result<(Option<PathPart>, Option<Object>)> {
        let mut path = None;
        let mut object = None;
        while let Some(child) = self.next_child(&mut tag)? {
            match child.name.as_str() {
                "INSTANCENAME" if path.is_none() => {
                    path = Some(PathPart::Instance(self.instance_name(child)?))
                }
                "INSTANCEPATH" if path.is_none() => {
                    path = Some(PathPart::Instance(self.instance_path(child)?))
                }
                "LOCALINSTANCEPATH" if path.is_none() => {
                    path = Some(PathPart::Instance(self.local_instance_path(child)?))
                }
                "CLASSPATH" if path.is_none() => {
                    path = Some(PathPart::Class(self.class_path(child)?))
                }
                "LOCALCLASSPATH" if path.is_none() => {
                    path = Some(PathPart::Class(self.local_class_path(child)?))
                }
                "INSTANCE" if object.is_none() => {
                    object = Some(Object::Instance(self.instance(child)?))
                }
                "CLASS" if object.is_none() => object = Some(Object::Class(self.class(child)?)),
                _ => return Err(child.unexpected_in(&tag.name)),
            }
        }
        Ok((path, object))
    }

    /// `VALUE.NAMEDINSTANCE` / `VALUE.INSTANCEWITHPATH`.
    fn instance_with_path(&mut self, tag: Tag) -> Result<InstanceWithPath> {
        let pos = tag.pos;
        let element = tag.name.clone();
        match self.path_and_object(tag)? {
            (Some(PathPart::Instance(path)), Some(Object::Instance(instance))) => {
                Ok(InstanceWithPath { path, instance })
            }
            _ => Err(XmlError::new(
                K::MissingElement,
                format!("<{element}> must hold an instance path and an INSTANCE"),
                Some(pos),
            )),
        }
    }

    /// `VALUE.OBJECTWITHPATH` / `VALUE.OBJECTWITHLOCALPATH`.
    fn object_with_path(&mut self, tag: Tag) -> Result<ObjectWithPath> {
        let pos = tag.pos;
        let element = tag.name.clone();
        match self.path_and_object(tag)? {
            (Some(PathPart::Instance(path)), Some(object @ Object::Instance(_)))
            | (Some(PathPart::Class(path)), Some(object @ Object::Class(_))) => {
                Ok(ObjectWithPath { path, object })
            }
            _ => Err(XmlError::new(
                K::MissingElement,
                format!(
                    "<{element}> must hold an instance path and an INSTANCE, or a class path and a CLASS"
                ),
                Some(pos),
            )),
        }
    }

    fn value_object(&mut self, tag: Tag) -> Result<Object> {
        let pos = tag.pos;
        match self.path_and_object(tag)? {
            (None, Some(object)) => Ok(object),
            _ => Err(XmlError::new(
                K::MissingElement,
                "<VALUE.OBJECT> must hold one CLASS or INSTANCE",
                Some(pos),
            )),
        }
    }

    fn qualifier(&mut self, mut tag: Tag) -> Result<QualifierValue> {
        let name = tag.req("NAME")?;
        let ty = tag.cim_type("TYPE")?.ok_or_else(|| {
            tag.err(
                K::MissingAttribute,
                format!("QUALIFIER {name} has no TYPE attribute"),
            )
        })?;
        let propagated = tag.flag("PROPAGATED", false)?;
        let flavors = tag.flavors()?;
        let label = format!("qualifier {name}");
        let mut value = None;
        while let Some(mut child) = self.next_child(&mut tag)? {
            match child.name.as_str() {
                "VALUE" if value.is_none() => {
                    value = self
                        .value(&mut child, Some(ty), false, &label)?
                        .and_then(|v| v.as_cim().cloned())
                }
                "VALUE.ARRAY" if value.is_none() => {
                    value = self
                        .value_array(child, Some(ty), false, &label)?
                        .as_cim()
                        .cloned()
                }
                _ => return Err(child.unexpected_in("QUALIFIER")),
            }
        }
        Ok(QualifierValue {
            name,
            ty,
            value,
            propagated,
            flavors,
        })
    }

    fn qualifier_declaration(&mut self, mut tag: Tag) -> Result<QualifierDeclaration> {
        let name = tag.req("NAME")?;
        let ty = tag.cim_type("TYPE")?.ok_or_else(|| {
            tag.err(
                K::MissingAttribute,
                format!("QUALIFIER.DECLARATION {name} has no TYPE attribute"),
            )
        })?;
        let mut is_array = tag.flag("ISARRAY", false)?;
        let array_size = tag.array_size()?;
        let flavors = tag.flavors()?;
        let label = format!("qualifier declaration {name}");
        let mut scopes = Scopes::NONE;
        let mut value = None;
        while let Some(mut child) = self.next_child(&mut tag)? {
            match child.name.as_str() {
                "SCOPE" => {
                    scopes = Scopes {
                        class: child.flag("CLASS", false)?,
                        association: child.flag("ASSOCIATION", false)?,
                        reference: child.flag("REFERENCE", false)?,
                        property: child.flag("PROPERTY", false)?,
                        method: child.flag("METHOD", false)?,
                        parameter: child.flag("PARAMETER", false)?,
                        indication: child.flag("INDICATION", false)?,
                    };
                    self.expect_end(&mut child)?;
                }
                "VALUE" if value.is_none() => {
                    value = self
                        .value(&mut child, Some(ty), false, &label)?
                        .and_then(|v| v.as_cim().cloned())
                }
                "VALUE.ARRAY" if value.is_none() => {
                    is_array = true;
                    value = self
                        .value_array(child, Some(ty), false, &label)?
                        .as_cim()
                        .cloned()
                }
                _ => return Err(child.unexpected_in("QUALIFIER.DECLARATION")),
            }
        }
        Ok(QualifierDeclaration {
            name,
            ty,
            is_array,
            array_size,
            value,
            scopes,
            flavors,
        })
    }

    fn property(&mut self, mut tag: Tag) -> Result<Property> {
        let name = tag.req("NAME")?;
        let is_reference = tag.name == "PROPERTY.REFERENCE";
        let is_array = tag.name == "PROPERTY.ARRAY";
        // DSP0201 puts EmbeddedObject on PROPERTY and PROPERTY.ARRAY
        // only, REFERENCECLASS on PROPERTY.REFERENCE only and ARRAYSIZE on
        // PROPERTY.ARRAY only; elsewhere they are ignored, as the writer
        // could not write them back.
        let mut embedded = if is_reference { None } else { tag.embedded()? };
        let mut ty = if is_reference {
            CimType::Reference
        } else {
            tag.cim_type("TYPE")?.unwrap_or(CimType::String)
        };
        if ty == CimType::Instance {
            embedded.get_or_insert(EmbeddedKind::Instance);
        }
        if embedded.is_some() {
            // An embedded object is carried as a string, whatever TYPE says.
            ty = CimType::String;
        }
        let mut p = Property {
            array_size: if is_array { tag.array_size()? } else { None },
            reference_class: if is_reference {
                tag.attr("REFERENCECLASS").map(str::to_owned)
            } else {
                None
            },
            class_origin: tag.attr("CLASSORIGIN").map(str::to_owned),
            propagated: tag.flag("PROPAGATED", false)?,
            embedded_object: embedded,
            ..Property::null(&name, ty, is_array)
        };
        let label = format!("property {name}");
        let element = tag.name.clone();
        while let Some(mut child) = self.next_child(&mut tag)? {
            let first_value = p.value.is_none();
            match child.name.as_str() {
                "QUALIFIER" => p.qualifiers.push(self.qualifier(child)?),
                "VALUE" if !is_array && !is_reference && first_value => {
                    p.value = self.value(&mut child, Some(ty), embedded.is_some(), &label)?
                }
                "VALUE.ARRAY" if is_array && first_value => {
                    p.value = Some(self.value_array(child, Some(ty), embedded.is_some(), &label)?)
                }
                "VALUE.REFARRAY" if is_array && first_value => {
                    p.value = Some(PropertyValue::Cim(self.ref_array(child)?))
                }
                "VALUE.REFERENCE" if (is_reference || ty == CimType::Reference) && first_value => {
                    p.value = Some(PropertyValue::Cim(CimValue::Reference(
                        self.value_reference(child)?,
                    )))
                }
                "INSTANCE" if !is_reference && first_value => {
                    let i = self.instance(child)?;
                    p.value = Some(if is_array {
                        PropertyValue::Instances(vec![i])
                    } else {
                        PropertyValue::Instance(Box::new(i))
                    })
                }
                "VALUE.NULL" => self.expect_end(&mut child)?,
                _ => return Err(child.unexpected_in(&element)),
            }
        }
        if let Some(v) = &p.value {
            if v.is_embedded() {
                p.ty = CimType::String;
                p.embedded_object.get_or_insert(EmbeddedKind::Instance);
            } else if let Some(cv) = v.as_cim() {
                if cv.is_array() != is_array {
                    return Err(tag.err(
                        K::InvalidValue,
                        format!(
                            "{label}: <{element}> holds a value of type {}",
                            cv.value_type()
                        ),
                    ));
                }
            }
        }
        Ok(p)
    }

    fn instance(&mut self, mut tag: Tag) -> Result<Instance> {
        let mut instance = Instance::new(&tag.req("CLASSNAME")?);
        while let Some(child) = self.next_child(&mut tag)? {
            match child.name.as_str() {
                "QUALIFIER" => instance.qualifiers.push(self.qualifier(child)?),
                "PROPERTY" | "PROPERTY.ARRAY" | "PROPERTY.REFERENCE" => {
                    instance.properties.push(self.property(child)?)
                }
                _ => return Err(child.unexpected_in("INSTANCE")),
            }
        }
        Ok(instance)
    }

    fn class(&mut self, mut tag: Tag) -> Result<Class> {
        let mut class = Class::new(&tag.req("NAME")?, tag.attr("SUPERCLASS"));
        while let Some(child) = self.next_child(&mut tag)? {
            match child.name.as_str() {
                "QUALIFIER" => class.qualifiers.push(self.qualifier(child)?),
                "PROPERTY" | "PROPERTY.ARRAY" | "PROPERTY.REFERENCE" => {
                    class.properties.push(self.property(child)?)
                }
                "METHOD" => class.methods.push(self.method(child)?),
                _ => return Err(child.unexpected_in("CLASS")),
            }
        }
        Ok(class)
    }

    fn method(&mut self, mut tag: Tag) -> Result<Method> {
        let mut method = Method::new(&tag.req("NAME")?, tag.cim_type("TYPE")?);
        method.class_origin = tag.attr("CLASSORIGIN").map(str::to_owned);
        method.propagated = tag.flag("PROPAGATED", false)?;
        while let Some(child) = self.next_child(&mut tag)? {
            match child.name.as_str() {
                "QUALIFIER" => method.qualifiers.push(self.qualifier(child)?),
                "PARAMETER" | "PARAMETER.REFERENCE" | "PARAMETER.ARRAY" | "PARAMETER.REFARRAY" => {
                    method.parameters.push(self.parameter(child)?)
                }
                _ => return Err(child.unexpected_in("METHOD")),
            }
        }
        Ok(method)
    }

    fn parameter(&mut self, mut tag: Tag) -> Result<Parameter> {
        let name = tag.req("NAME")?;
        let (is_reference, is_array) = match tag.name.as_str() {
            "PARAMETER.REFERENCE" => (true, false),
            "PARAMETER.REFARRAY" => (true, true),
            "PARAMETER.ARRAY" => (false, true),
            _ => (false, false),
        };
        let ty = if is_reference {
            CimType::Reference
        } else {
            tag.cim_type("TYPE")?.ok_or_else(|| {
                tag.err(
                    K::MissingAttribute,
                    format!("<{}> {name} has no TYPE attribute", tag.name),
                )
            })?
        };
        // REFERENCECLASS belongs to the reference parameters and ARRAYSIZE
        // to the array ones (DSP0201); elsewhere they are ignored, as the
        // writer could not write them back.
        let mut p = Parameter {
            array_size: if is_array { tag.array_size()? } else { None },
            reference_class: if ty == CimType::Reference {
                tag.attr("REFERENCECLASS").map(str::to_owned)
            } else {
                None
            },
            ..Parameter::new(&name, ty, is_array)
        };
        let element = tag.name.clone();
        while let Some(child) = self.next_child(&mut tag)? {
            match child.name.as_str() {
                "QUALIFIER" => p.qualifiers.push(self.qualifier(child)?),
                _ => return Err(child.unexpected_in(&element)),
            }
        }
        Ok(p)
    }
}

fn null_element(tag: &Tag, label: &str) -> XmlError {
    tag.err(
        K::Unsupported,
        format!("{label}: NULL array elements are not supported"),
    )
}

/// Whether a version string has this major number (`"2"`, `"2.0"`, `"2.4"`).
fn major_is(version: &str, major: &str) -> bool {
    let v = version.trim();
    v.split('.').next() == Some(major)
        && v.split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
}

/// Parameters as they are read, refusing a second one of the same name
/// (ASCII case ignored) without a quadratic scan.
#[derive(Default)]
struct Params {
    list: Vec<(String, ParamValue)>,
    seen: HashSet<String>,
}

impl Params {
    fn push(&mut self, name: String, value: ParamValue, pos: u64) -> Result<()> {
        if !self.seen.insert(name.to_ascii_lowercase()) {
            return Err(XmlError::new(
                K::InvalidValue,
                format!("parameter {name} is given more than once"),
                Some(pos),
            ));
        }
        self.list.push((name, value));
        Ok(())
    }
}
