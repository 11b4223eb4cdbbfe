//! Writing CIM-XML: messages and single elements.
//!
//! Output is compact (no indentation), UTF-8, and starts with the XML
//! declaration pywbem also writes. Escaping is exact: `&`, `<` and `>`
//! in text; also `"` and the whitespace characters tab, newline and
//! carriage return (as character references, so they survive attribute
//! normalization) in attributes; carriage returns in text as `&#13;` (so
//! they survive line-end normalization). Other C0 control characters
//! cannot appear in XML 1.0; like OpenPegasus, the writer emits them as
//! character references, which this crate's reader accepts. NUL cannot be
//! represented at all and is written as U+FFFD.
//!
//! Values use the DSP0201 text form of [`CimValue`]'s `Display`: `TRUE` /
//! `FALSE`, decimal integers, shortest round-trip reals (`INF`, `-INF`,
//! `NaN`), the 25-character datetime. Embedded instances are written as
//! escaped `INSTANCE` text with `EmbeddedObject="instance"` in properties,
//! `PARAMVALUE`s and `RETURNVALUE`s, and as `INSTANCE` elements where
//! DSP0201 puts instances directly (`IPARAMVALUE`, `EXPPARAMVALUE`,
//! `IRETURNVALUE`, `ERROR`).
//!
//! Paths: a reference is written as `INSTANCEPATH` when it has a host
//! and a namespace, `LOCALINSTANCEPATH` when it has a namespace, and
//! `INSTANCENAME` otherwise (as pywbem does). Where DSP0201 requires a
//! `NAMESPACEPATH` (`INSTANCEPATH`, `CLASSPATH`) and the path has no host,
//! an empty `HOST` is written; set [`ObjectPath::host`] for clients that
//! need one.

use std::fmt::Write as _;

use crate::path::{KeyValue, ObjectPath};
use crate::value::{CimType, CimValue};
use crate::xml::message::{
    Call, CimError, ExportRequest, ExportResponse, IReturnValue, Message, ParamValue, Reply,
    Request, Response, CIM_VERSION, DTD_VERSION, PROTOCOL_VERSION,
};
use crate::xml::model::{
    Class, EmbeddedKind, Flavors, Instance, InstanceWithPath, Method, Object, ObjectName,
    ObjectWithPath, Parameter, Property, PropertyValue, QualifierDeclaration, QualifierValue,
};

/// The XML declaration that starts every message.
const XML_DECL: &str = "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n";

/// Writes a request message (the client side).
///
/// ```
/// use cim::xml::{write_request, ParamValue, Request};
///
/// let r = Request::intrinsic("1001", "root/cimv2", "EnumerateInstanceNames",
///     vec![("ClassName".into(), ParamValue::ClassName("CIM_ConcreteJob".into()))]);
/// let xml = write_request(&r);
/// assert!(xml.contains(r#"<IMETHODCALL NAME="EnumerateInstanceNames"><LOCALNAMESPACEPATH><NAMESPACE NAME="root"/><NAMESPACE NAME="cimv2"/></LOCALNAMESPACEPATH><IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="CIM_ConcreteJob"/></IPARAMVALUE></IMETHODCALL>"#));
/// ```
pub fn write_request(request: &Request) -> String {
    let mut w = Writer::document();
    w.message_start(&request.message_id, &request.protocol_version);
    w.open("SIMPLEREQ");
    match &request.call {
        Call::Intrinsic {
            namespace,
            name,
            params,
        } => {
            w.start("IMETHODCALL");
            w.attr("NAME", name);
            w.gt();
            w.local_namespace_path(namespace);
            for (n, v) in params {
                w.param_value("IPARAMVALUE", Some(n), v, Form::Intrinsic);
            }
            w.close("IMETHODCALL");
        }
        Call::Extrinsic {
            target,
            target_is_class,
            method,
            params,
        } => {
            w.start("METHODCALL");
            w.attr("NAME", method);
            w.gt();
            if *target_is_class {
                w.local_class_path(target);
            } else {
                w.local_instance_path(target);
            }
            for (n, v) in params {
                w.param_value("PARAMVALUE", Some(n), v, Form::Extrinsic);
            }
            w.close("METHODCALL");
        }
    }
    w.close("SIMPLEREQ");
    w.message_end()
}

/// Writes a response message (the server side).
///
/// ```
/// use cim::xml::{write_response, CimError, Response};
/// use cim::CimStatusCode;
///
/// let r = Response::intrinsic_error("1001", "GetInstance", CimError::new(CimStatusCode::NotFound, "no job \"x\""));
/// assert!(write_response(&r).contains(r#"<IMETHODRESPONSE NAME="GetInstance"><ERROR CODE="6" DESCRIPTION="no job &quot;x&quot;"/></IMETHODRESPONSE>"#));
/// ```
pub fn write_response(response: &Response) -> String {
    let mut w = Writer::document();
    w.message_start(&response.message_id, &response.protocol_version);
    w.open("SIMPLERSP");
    match &response.reply {
        Reply::Intrinsic { name, result } => {
            w.start("IMETHODRESPONSE");
            w.attr("NAME", name);
            match result {
                Err(e) => {
                    w.gt();
                    w.error(e);
                    w.close("IMETHODRESPONSE");
                }
                Ok(r) if r.value.is_none() && r.params.is_empty() => w.slash_gt(),
                Ok(r) => {
                    w.gt();
                    if let Some(v) = &r.value {
                        w.ireturn_value(v);
                    }
                    for (n, v) in &r.params {
                        w.param_value("PARAMVALUE", Some(n), v, Form::Extrinsic);
                    }
                    w.close("IMETHODRESPONSE");
                }
            }
        }
        Reply::Extrinsic { name, result } => {
            w.start("METHODRESPONSE");
            w.attr("NAME", name);
            match result {
                Err(e) => {
                    w.gt();
                    w.error(e);
                    w.close("METHODRESPONSE");
                }
                Ok(r) if r.return_value.is_none() && r.params.is_empty() => w.slash_gt(),
                Ok(r) => {
                    w.gt();
                    if let Some(v) = &r.return_value {
                        w.param_value("RETURNVALUE", None, v, Form::Extrinsic);
                    }
                    for (n, v) in &r.params {
                        w.param_value("PARAMVALUE", Some(n), v, Form::Extrinsic);
                    }
                    w.close("METHODRESPONSE");
                }
            }
        }
    }
    w.close("SIMPLERSP");
    w.message_end()
}

/// Writes a successful intrinsic response whose `IRETURNVALUE` holds named instances
/// (EnumerateInstances) or instance names (EnumerateInstanceNames) in pieces:
/// [`head`](EnumerationWriter::head), then each instance with
/// [`instance`](EnumerationWriter::instance) or name with
/// [`instance_name`](EnumerationWriter::instance_name), then
/// [`tail`](EnumerationWriter::tail). A server can send each piece as it is made, so
/// an enumeration of a hundred thousand objects never holds the whole answer in memory. The
/// pieces put together are exactly what [`write_response`] writes.
///
/// ```
/// use cim::xml::{write_response, IReturnValue, Instance, InstanceWithPath, EnumerationWriter, Response};
/// use cim::ObjectPath;
///
/// let job = InstanceWithPath::new(ObjectPath::new(None, "CIM_ConcreteJob"), Instance::new("CIM_ConcreteJob"));
/// let whole = write_response(&Response::intrinsic("7", "EnumerateInstances", Some(IReturnValue::NamedInstances(vec![job.clone()]))));
/// let w = EnumerationWriter::new("7", "EnumerateInstances");
/// let mut pieces = w.head();
/// w.instance(&mut pieces, &job);
/// pieces.push_str(&w.tail());
/// assert_eq!(pieces, whole);
///
/// let names = write_response(&Response::intrinsic("8", "EnumerateInstanceNames", Some(IReturnValue::InstanceNames(vec![job.path.clone()]))));
/// let w = EnumerationWriter::new("8", "EnumerateInstanceNames");
/// let mut pieces = w.head();
/// w.instance_name(&mut pieces, &job.path);
/// pieces.push_str(&w.tail());
/// assert_eq!(pieces, names);
/// ```
pub struct EnumerationWriter {
    message_id: String,
    method: String,
}

impl EnumerationWriter {
    /// A writer for the answer to request `message_id`, operation `method`.
    pub fn new(message_id: &str, method: &str) -> EnumerationWriter {
        EnumerationWriter {
            message_id: message_id.to_owned(),
            method: method.to_owned(),
        }
    }

    /// Everything up to and including `<IRETURNVALUE>`.
    pub fn head(&self) -> String {
        let mut w = Writer::document();
        w.message_start(&self.message_id, PROTOCOL_VERSION);
        w.open("SIMPLERSP");
        w.start("IMETHODRESPONSE");
        w.attr("NAME", &self.method);
        w.gt();
        w.open("IRETURNVALUE");
        w.buf
    }

    /// Appends one `VALUE.NAMEDINSTANCE` to `out`.
    pub fn instance(&self, out: &mut String, instance: &InstanceWithPath) {
        let mut w = Writer {
            buf: std::mem::take(out),
            tag: String::new(),
        };
        w.named_instance(instance);
        *out = w.buf;
    }

    /// Appends one `INSTANCENAME` to `out` (an EnumerateInstanceNames answer).
    pub fn instance_name(&self, out: &mut String, path: &ObjectPath) {
        let mut w = Writer {
            buf: std::mem::take(out),
            tag: String::new(),
        };
        w.instance_name(path);
        *out = w.buf;
    }

    /// Everything after the last instance.
    pub fn tail(&self) -> String {
        let mut w = Writer::fragment();
        w.close("IRETURNVALUE");
        w.close("IMETHODRESPONSE");
        w.close("SIMPLERSP");
        w.message_end()
    }
}

/// Writes an export request: indication delivery from a server to a
/// listener.
///
/// ```
/// use cim::xml::{write_export_request, ExportRequest, Instance};
///
/// let xml = write_export_request(&ExportRequest::export_indication("5", Instance::new("CIM_InstModification")));
/// assert!(xml.contains(r#"<EXPMETHODCALL NAME="ExportIndication"><EXPPARAMVALUE NAME="NewIndication"><INSTANCE CLASSNAME="CIM_InstModification"></INSTANCE></EXPPARAMVALUE></EXPMETHODCALL>"#));
/// ```
pub fn write_export_request(request: &ExportRequest) -> String {
    let mut w = Writer::document();
    w.message_start(&request.message_id, &request.protocol_version);
    w.open("SIMPLEEXPREQ");
    w.start("EXPMETHODCALL");
    w.attr("NAME", &request.method);
    if request.params.is_empty() {
        w.slash_gt();
    } else {
        w.gt();
        for (n, v) in &request.params {
            w.param_value("EXPPARAMVALUE", Some(n), v, Form::Export);
        }
        w.close("EXPMETHODCALL");
    }
    w.close("SIMPLEEXPREQ");
    w.message_end()
}

/// Writes an export response: an empty `IRETURNVALUE` on success (what
/// pywbem's listener sends), or the `ERROR`.
///
/// ```
/// use cim::xml::{write_export_response, ExportRequest, Instance};
///
/// let ok = ExportRequest::export_indication("5", Instance::new("CIM_Alert")).ok_response();
/// assert!(write_export_response(&ok).contains(r#"<EXPMETHODRESPONSE NAME="ExportIndication"><IRETURNVALUE></IRETURNVALUE></EXPMETHODRESPONSE>"#));
/// ```
pub fn write_export_response(response: &ExportResponse) -> String {
    let mut w = Writer::document();
    w.message_start(&response.message_id, &response.protocol_version);
    w.open("SIMPLEEXPRSP");
    w.start("EXPMETHODRESPONSE");
    w.attr("NAME", &response.method);
    w.gt();
    match &response.result {
        Ok(()) => w.empty("IRETURNVALUE"),
        Err(e) => w.error(e),
    }
    w.close("EXPMETHODRESPONSE");
    w.close("SIMPLEEXPRSP");
    w.message_end()
}

/// Writes any message.
pub fn write_message(message: &Message) -> String {
    match message {
        Message::Request(r) => write_request(r),
        Message::Response(r) => write_response(r),
        Message::ExportRequest(r) => write_export_request(r),
        Message::ExportResponse(r) => write_export_response(r),
    }
}

/// Writes one `INSTANCE` element, without XML declaration: the text that
/// an embedded instance carries.
///
/// ```
/// use cim::xml::{write_instance, Instance, Property};
/// use cim::CimValue;
///
/// let i = Instance::new("CIM_Error").with_property(Property::new("CIMStatusCode", CimValue::UInt32(6)));
/// assert_eq!(write_instance(&i),
///     r#"<INSTANCE CLASSNAME="CIM_Error"><PROPERTY NAME="CIMStatusCode" TYPE="uint32"><VALUE>6</VALUE></PROPERTY></INSTANCE>"#);
/// ```
pub fn write_instance(instance: &Instance) -> String {
    let mut w = Writer::fragment();
    w.instance(instance);
    w.buf
}

/// Writes one `CLASS` element, without XML declaration.
///
/// ```
/// use cim::xml::{write_class, Class};
///
/// assert_eq!(write_class(&Class::new("CIM_Foo", Some("CIM_Bar"))), r#"<CLASS NAME="CIM_Foo" SUPERCLASS="CIM_Bar"></CLASS>"#);
/// ```
pub fn write_class(class: &Class) -> String {
    let mut w = Writer::fragment();
    w.class(class);
    w.buf
}

/// Appends `s` to `out`, escaped for XML text (`in_attr == false`) or a
/// double-quoted attribute value.
fn escape_into(out: &mut String, s: &str, in_attr: bool) {
    let needs = |c: char| {
        matches!(c, '&' | '<' | '>' | '\r' | '\u{FFFE}' | '\u{FFFF}')
            || (in_attr && matches!(c, '"' | '\t' | '\n'))
            || (c < ' ' && c != '\t' && c != '\n')
    };
    if !s.chars().any(needs) {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if in_attr => out.push_str("&quot;"),
            '\0' => out.push('\u{FFFD}'),
            c if needs(c) => {
                let _ = write!(out, "&#{};", u32::from(c));
            }
            c => out.push(c),
        }
    }
}

/// How the parameter-like elements encode what they hold.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    /// `IPARAMVALUE` / `IRETURNVALUE VALUE`: no `PARAMTYPE`; instances as
    /// `INSTANCE` elements.
    Intrinsic,
    /// `PARAMVALUE` / `RETURNVALUE`: `PARAMTYPE`; instances embedded as
    /// escaped strings with `EmbeddedObject="instance"`.
    Extrinsic,
    /// `EXPPARAMVALUE`: no `PARAMTYPE`; instances as elements.
    Export,
}

/// A string buffer with element-writing helpers. Tags are built in
/// pieces: `start` + `attr`s + `gt`/`slash_gt`.
struct Writer {
    buf: String,
    /// The element whose start tag is being written, so an empty one can be ended right.
    tag: String,
}

/// Elements the CIM DTD declares EMPTY (plus ERROR without instances, as OpenPegasus writes
/// it): only these are written as `<X/>`. Every other element without content gets an end
/// tag, because sblim's wbemcli parser does not accept `<PROPERTY .../>` or `<IRETURNVALUE/>`.
const SELF_CLOSING: &[&str] = &["NAMESPACE", "CLASSNAME", "VALUE.NULL", "ERROR"];

impl Writer {
    fn document() -> Writer {
        let mut buf = String::with_capacity(1024);
        buf.push_str(XML_DECL);
        Writer {
            buf,
            tag: String::new(),
        }
    }

    fn fragment() -> Writer {
        Writer {
            buf: String::with_capacity(256),
            tag: String::new(),
        }
    }

    fn start(&mut self, name: &str) {
        self.buf.push('<');
        self.buf.push_str(name);
        self.tag.clear();
        self.tag.push_str(name);
    }

    fn attr(&mut self, name: &str, value: &str) {
        self.buf.push(' ');
        self.buf.push_str(name);
        self.buf.push_str("=\"");
        escape_into(&mut self.buf, value, true);
        self.buf.push('"');
    }

    fn opt_attr(&mut self, name: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.attr(name, v);
        }
    }

    /// Writes a boolean attribute only when it differs from its default.
    fn flag_attr(&mut self, name: &str, value: bool, default: bool) {
        if value != default {
            self.attr(name, if value { "true" } else { "false" });
        }
    }

    fn gt(&mut self) {
        self.buf.push('>');
    }

    /// Ends the started element with no content.
    fn slash_gt(&mut self) {
        if SELF_CLOSING.contains(&self.tag.as_str()) {
            self.buf.push_str("/>");
        } else {
            self.buf.push_str("></");
            self.buf.push_str(&self.tag);
            self.buf.push('>');
        }
    }

    fn open(&mut self, name: &str) {
        self.start(name);
        self.gt();
    }

    fn empty(&mut self, name: &str) {
        self.start(name);
        self.slash_gt();
    }

    fn close(&mut self, name: &str) {
        self.buf.push_str("</");
        self.buf.push_str(name);
        self.buf.push('>');
    }

    fn text(&mut self, s: &str) {
        escape_into(&mut self.buf, s, false);
    }

    /// Ends the started tag with `text` as content, or as an empty
    /// element when the text is empty.
    fn finish_with_text(&mut self, name: &str, text: &str) {
        if text.is_empty() {
            self.slash_gt();
        } else {
            self.gt();
            self.text(text);
            self.close(name);
        }
    }

    fn message_start(&mut self, id: &str, protocol_version: &str) {
        self.start("CIM");
        self.attr("CIMVERSION", CIM_VERSION);
        self.attr("DTDVERSION", DTD_VERSION);
        self.gt();
        self.start("MESSAGE");
        self.attr("ID", id);
        self.attr("PROTOCOLVERSION", protocol_version);
        self.gt();
    }

    fn message_end(mut self) -> String {
        self.close("MESSAGE");
        self.close("CIM");
        self.buf
    }

    // ---- paths ----

    fn local_namespace_path(&mut self, namespace: &str) {
        self.open("LOCALNAMESPACEPATH");
        for segment in namespace.split('/').filter(|s| !s.is_empty()) {
            self.start("NAMESPACE");
            self.attr("NAME", segment);
            self.slash_gt();
        }
        self.close("LOCALNAMESPACEPATH");
    }

    fn namespace_path(&mut self, path: &ObjectPath) {
        self.open("NAMESPACEPATH");
        self.start("HOST");
        self.finish_with_text("HOST", path.host.as_deref().unwrap_or(""));
        self.local_namespace_path(path.namespace.as_deref().unwrap_or(""));
        self.close("NAMESPACEPATH");
    }

    fn class_name(&mut self, name: &str) {
        self.start("CLASSNAME");
        self.attr("NAME", name);
        self.slash_gt();
    }

    fn instance_name(&mut self, path: &ObjectPath) {
        self.start("INSTANCENAME");
        self.attr("CLASSNAME", &path.class_name);
        if path.keys.is_empty() {
            self.slash_gt();
            return;
        }
        self.gt();
        for (name, value) in &path.keys {
            self.start("KEYBINDING");
            self.attr("NAME", name);
            self.gt();
            self.key_value(value);
            self.close("KEYBINDING");
        }
        self.close("INSTANCENAME");
    }

    fn key_value(&mut self, value: &KeyValue) {
        let (value_type, text) = match value {
            KeyValue::String(s) => ("string", s.clone()),
            KeyValue::Integer(i) => ("numeric", i.to_string()),
            KeyValue::Boolean(b) => ("boolean", if *b { "TRUE" } else { "FALSE" }.to_owned()),
            KeyValue::Reference(p) => return self.value_reference(p),
        };
        self.start("KEYVALUE");
        self.attr("VALUETYPE", value_type);
        self.finish_with_text("KEYVALUE", &text);
    }

    fn local_instance_path(&mut self, path: &ObjectPath) {
        self.open("LOCALINSTANCEPATH");
        self.local_namespace_path(path.namespace.as_deref().unwrap_or(""));
        self.instance_name(path);
        self.close("LOCALINSTANCEPATH");
    }

    fn instance_path(&mut self, path: &ObjectPath) {
        self.open("INSTANCEPATH");
        self.namespace_path(path);
        self.instance_name(path);
        self.close("INSTANCEPATH");
    }

    fn local_class_path(&mut self, path: &ObjectPath) {
        self.open("LOCALCLASSPATH");
        self.local_namespace_path(path.namespace.as_deref().unwrap_or(""));
        self.class_name(&path.class_name);
        self.close("LOCALCLASSPATH");
    }

    fn class_path(&mut self, path: &ObjectPath) {
        self.open("CLASSPATH");
        self.namespace_path(path);
        self.class_name(&path.class_name);
        self.close("CLASSPATH");
    }

    fn value_reference(&mut self, path: &ObjectPath) {
        self.open("VALUE.REFERENCE");
        match (&path.host, &path.namespace) {
            (Some(_), Some(_)) => self.instance_path(path),
            (_, Some(_)) => self.local_instance_path(path),
            _ => self.instance_name(path),
        }
        self.close("VALUE.REFERENCE");
    }

    fn object_path(&mut self, name: &ObjectName) {
        self.open("OBJECTPATH");
        match name {
            ObjectName::Instance(p) => self.instance_path(p),
            ObjectName::Class(p) => self.class_path(p),
        }
        self.close("OBJECTPATH");
    }

    // ---- values ----

    fn scalar_value(&mut self, v: &CimValue) {
        self.start("VALUE");
        match v {
            CimValue::String(s) => self.finish_with_text("VALUE", s),
            v => self.finish_with_text("VALUE", &v.to_string()),
        }
    }

    /// A typed value: `VALUE`, `VALUE.ARRAY`, `VALUE.REFERENCE` or
    /// `VALUE.REFARRAY`.
    fn cim_value(&mut self, v: &CimValue) {
        match v {
            CimValue::Reference(p) => self.value_reference(p),
            CimValue::Array(a) if a.elem_type() == CimType::Reference => {
                self.array_of("VALUE.REFARRAY", a.items(), |w, item| match item {
                    CimValue::Reference(p) => w.value_reference(p),
                    other => w.scalar_value(other),
                });
            }
            CimValue::Array(a) => {
                self.array_of("VALUE.ARRAY", a.items(), |w, item| w.scalar_value(item));
            }
            v => self.scalar_value(v),
        }
    }

    fn array_of<T>(&mut self, name: &str, items: &[T], mut each: impl FnMut(&mut Writer, &T)) {
        if items.is_empty() {
            self.empty(name);
            return;
        }
        self.open(name);
        for item in items {
            each(self, item);
        }
        self.close(name);
    }

    fn text_value(&mut self, text: &str) {
        self.start("VALUE");
        self.finish_with_text("VALUE", text);
    }

    fn embedded_value(&mut self, instance: &Instance) {
        self.text_value(&write_instance(instance));
    }

    fn property_value(&mut self, v: &PropertyValue, is_array: bool) {
        match v {
            PropertyValue::Cim(v) => self.cim_value(v),
            PropertyValue::Instance(i) if is_array => {
                self.array_of("VALUE.ARRAY", std::slice::from_ref(&**i), |w, i| {
                    w.embedded_value(i)
                })
            }
            PropertyValue::Instance(i) => self.embedded_value(i),
            PropertyValue::Instances(v) => {
                self.array_of("VALUE.ARRAY", v, |w, i| w.embedded_value(i))
            }
        }
    }

    // ---- objects ----

    fn flavors(&mut self, f: &Flavors) {
        let d = Flavors::DEFAULT;
        self.flag_attr("OVERRIDABLE", f.overridable, d.overridable);
        self.flag_attr("TOSUBCLASS", f.to_subclass, d.to_subclass);
        self.flag_attr("TOINSTANCE", f.to_instance, d.to_instance);
        self.flag_attr("TRANSLATABLE", f.translatable, d.translatable);
    }

    fn qualifier(&mut self, q: &QualifierValue) {
        self.start("QUALIFIER");
        self.attr("NAME", &q.name);
        self.attr("TYPE", q.ty.name());
        self.flag_attr("PROPAGATED", q.propagated, false);
        self.flavors(&q.flavors);
        match &q.value {
            None => self.slash_gt(),
            Some(v) => {
                self.gt();
                self.cim_value(v);
                self.close("QUALIFIER");
            }
        }
    }

    fn qualifiers(&mut self, qs: &[QualifierValue]) {
        for q in qs {
            self.qualifier(q);
        }
    }

    fn qualifier_declaration(&mut self, d: &QualifierDeclaration) {
        self.start("QUALIFIER.DECLARATION");
        self.attr("NAME", &d.name);
        self.attr("TYPE", d.ty.name());
        if d.is_array {
            self.attr("ISARRAY", "true");
        }
        if let Some(n) = d.array_size {
            self.attr("ARRAYSIZE", &n.to_string());
        }
        self.flavors(&d.flavors);
        self.gt();
        let s = &d.scopes;
        self.start("SCOPE");
        for (name, on) in [
            ("CLASS", s.class),
            ("ASSOCIATION", s.association),
            ("REFERENCE", s.reference),
            ("PROPERTY", s.property),
            ("METHOD", s.method),
            ("PARAMETER", s.parameter),
            ("INDICATION", s.indication),
        ] {
            self.flag_attr(name, on, false);
        }
        self.slash_gt();
        if let Some(v) = &d.value {
            self.cim_value(v);
        }
        self.close("QUALIFIER.DECLARATION");
    }

    fn property(&mut self, p: &Property) {
        let embedded = p.embedded_object.or_else(|| {
            p.value
                .as_ref()
                .filter(|v| v.is_embedded())
                .map(|_| EmbeddedKind::Instance)
        });
        let type_name = if embedded.is_some() {
            "string"
        } else {
            p.ty.name()
        };
        let element = if p.ty == CimType::Reference && !p.is_array && embedded.is_none() {
            self.start("PROPERTY.REFERENCE");
            self.attr("NAME", &p.name);
            self.opt_attr("REFERENCECLASS", p.reference_class.as_deref());
            "PROPERTY.REFERENCE"
        } else if p.is_array {
            self.start("PROPERTY.ARRAY");
            self.attr("NAME", &p.name);
            self.attr("TYPE", type_name);
            if let Some(n) = p.array_size {
                self.attr("ARRAYSIZE", &n.to_string());
            }
            "PROPERTY.ARRAY"
        } else {
            self.start("PROPERTY");
            self.attr("NAME", &p.name);
            self.attr("TYPE", type_name);
            "PROPERTY"
        };
        self.opt_attr("CLASSORIGIN", p.class_origin.as_deref());
        self.flag_attr("PROPAGATED", p.propagated, false);
        if element != "PROPERTY.REFERENCE" {
            self.opt_attr("EmbeddedObject", embedded.map(EmbeddedKind::as_str));
        }
        if p.qualifiers.is_empty() && p.value.is_none() {
            self.slash_gt();
            return;
        }
        self.gt();
        self.qualifiers(&p.qualifiers);
        if let Some(v) = &p.value {
            self.property_value(v, p.is_array);
        }
        self.close(element);
    }

    fn instance(&mut self, i: &Instance) {
        self.start("INSTANCE");
        self.attr("CLASSNAME", &i.class_name);
        if i.qualifiers.is_empty() && i.properties.is_empty() {
            self.slash_gt();
            return;
        }
        self.gt();
        self.qualifiers(&i.qualifiers);
        for p in &i.properties {
            self.property(p);
        }
        self.close("INSTANCE");
    }

    fn parameter(&mut self, p: &Parameter) {
        let element = match (p.ty == CimType::Reference, p.is_array) {
            (true, false) => "PARAMETER.REFERENCE",
            (true, true) => "PARAMETER.REFARRAY",
            (false, false) => "PARAMETER",
            (false, true) => "PARAMETER.ARRAY",
        };
        self.start(element);
        self.attr("NAME", &p.name);
        if p.ty == CimType::Reference {
            self.opt_attr("REFERENCECLASS", p.reference_class.as_deref());
        } else {
            self.attr("TYPE", p.ty.name());
        }
        if p.is_array {
            if let Some(n) = p.array_size {
                self.attr("ARRAYSIZE", &n.to_string());
            }
        }
        if p.qualifiers.is_empty() {
            self.slash_gt();
        } else {
            self.gt();
            self.qualifiers(&p.qualifiers);
            self.close(element);
        }
    }

    fn method(&mut self, m: &Method) {
        self.start("METHOD");
        self.attr("NAME", &m.name);
        self.opt_attr("TYPE", m.return_type.map(|t| t.name()));
        self.opt_attr("CLASSORIGIN", m.class_origin.as_deref());
        self.flag_attr("PROPAGATED", m.propagated, false);
        if m.qualifiers.is_empty() && m.parameters.is_empty() {
            self.slash_gt();
            return;
        }
        self.gt();
        self.qualifiers(&m.qualifiers);
        for p in &m.parameters {
            self.parameter(p);
        }
        self.close("METHOD");
    }

    fn class(&mut self, c: &Class) {
        self.start("CLASS");
        self.attr("NAME", &c.name);
        self.opt_attr("SUPERCLASS", c.superclass.as_deref());
        if c.qualifiers.is_empty() && c.properties.is_empty() && c.methods.is_empty() {
            self.slash_gt();
            return;
        }
        self.gt();
        self.qualifiers(&c.qualifiers);
        for p in &c.properties {
            self.property(p);
        }
        for m in &c.methods {
            self.method(m);
        }
        self.close("CLASS");
    }

    fn named_instance(&mut self, n: &InstanceWithPath) {
        self.open("VALUE.NAMEDINSTANCE");
        self.instance_name(&n.path);
        self.instance(&n.instance);
        self.close("VALUE.NAMEDINSTANCE");
    }

    fn instance_with_path(&mut self, n: &InstanceWithPath) {
        self.open("VALUE.INSTANCEWITHPATH");
        self.instance_path(&n.path);
        self.instance(&n.instance);
        self.close("VALUE.INSTANCEWITHPATH");
    }

    fn object(&mut self, o: &Object) {
        match o {
            Object::Class(c) => self.class(c),
            Object::Instance(i) => self.instance(i),
        }
    }

    fn object_with_path(&mut self, o: &ObjectWithPath, local: bool) {
        let element = if local {
            "VALUE.OBJECTWITHLOCALPATH"
        } else {
            "VALUE.OBJECTWITHPATH"
        };
        self.open(element);
        match (&o.object, local) {
            (Object::Class(_), false) => self.class_path(&o.path),
            (Object::Class(_), true) => self.local_class_path(&o.path),
            (Object::Instance(_), false) => self.instance_path(&o.path),
            (Object::Instance(_), true) => self.local_instance_path(&o.path),
        }
        self.object(&o.object);
        self.close(element);
    }

    // ---- message parts ----

    /// `IPARAMVALUE`, `PARAMVALUE`, `EXPPARAMVALUE` or `RETURNVALUE`.
    fn param_value(&mut self, element: &str, name: Option<&str>, v: &ParamValue, form: Form) {
        self.start(element);
        self.opt_attr("NAME", name);
        let typed = form == Form::Extrinsic;
        let embed = form == Form::Extrinsic;
        match v {
            ParamValue::Null => return self.slash_gt(),
            ParamValue::Value(v) if typed => self.attr("PARAMTYPE", v.cim_type().name()),
            ParamValue::Instance(_) | ParamValue::Instances(_) if embed => {
                self.attr("PARAMTYPE", "string");
                self.attr("EmbeddedObject", "instance");
            }
            ParamValue::Instances(_) => self.attr("EmbeddedObject", "instance"),
            _ => {}
        }
        self.gt();
        match v {
            ParamValue::Null => {}
            ParamValue::Value(v) => self.cim_value(v),
            ParamValue::Text(t) => self.text_value(t),
            ParamValue::TextArray(items) => {
                self.array_of("VALUE.ARRAY", items, |w, t| w.text_value(t))
            }
            ParamValue::InstanceName(p) => self.instance_name(p),
            ParamValue::ClassName(c) => self.class_name(c),
            ParamValue::Instance(i) if embed => self.embedded_value(i),
            ParamValue::Instance(i) => self.instance(i),
            ParamValue::Instances(v) => self.array_of("VALUE.ARRAY", v, |w, i| w.embedded_value(i)),
            ParamValue::NamedInstance(n) => self.named_instance(n),
            ParamValue::Class(c) => self.class(c),
            ParamValue::QualifierDeclaration(d) => self.qualifier_declaration(d),
        }
        self.close(element);
    }

    fn ireturn_value(&mut self, v: &IReturnValue) {
        if v.is_empty() {
            return self.empty("IRETURNVALUE");
        }
        self.open("IRETURNVALUE");
        match v {
            IReturnValue::ClassNames(v) => v.iter().for_each(|c| self.class_name(c)),
            IReturnValue::InstanceNames(v) => v.iter().for_each(|p| self.instance_name(p)),
            IReturnValue::Value(pv) => match pv {
                ParamValue::Value(v) => self.cim_value(v),
                ParamValue::Text(t) => self.text_value(t),
                ParamValue::TextArray(items) => {
                    self.array_of("VALUE.ARRAY", items, |w, t| w.text_value(t))
                }
                ParamValue::InstanceName(p) => self.value_reference(p),
                _ => {}
            },
            IReturnValue::ObjectsWithPath(v) => {
                v.iter().for_each(|o| self.object_with_path(o, false))
            }
            IReturnValue::ObjectsWithLocalPath(v) => {
                v.iter().for_each(|o| self.object_with_path(o, true))
            }
            IReturnValue::Objects(v) => v.iter().for_each(|o| {
                self.open("VALUE.OBJECT");
                self.object(o);
                self.close("VALUE.OBJECT");
            }),
            IReturnValue::ObjectPaths(v) => v.iter().for_each(|o| self.object_path(o)),
            IReturnValue::QualifierDeclarations(v) => {
                v.iter().for_each(|d| self.qualifier_declaration(d))
            }
            IReturnValue::Classes(v) => v.iter().for_each(|c| self.class(c)),
            IReturnValue::Instances(v) => v.iter().for_each(|i| self.instance(i)),
            IReturnValue::InstancePaths(v) => v.iter().for_each(|p| self.instance_path(p)),
            IReturnValue::NamedInstances(v) => v.iter().for_each(|n| self.named_instance(n)),
            IReturnValue::InstancesWithPath(v) => v.iter().for_each(|n| self.instance_with_path(n)),
        }
        self.close("IRETURNVALUE");
    }

    fn error(&mut self, e: &CimError) {
        self.start("ERROR");
        self.attr("CODE", &e.code.to_string());
        self.opt_attr("DESCRIPTION", e.description.as_deref());
        if e.instances.is_empty() {
            self.slash_gt();
            return;
        }
        self.gt();
        for i in &e.instances {
            self.instance(i);
        }
        self.close("ERROR");
    }
}

#[cfg(test)]
mod tests {
    use super::escape_into;

    fn esc(s: &str, attr: bool) -> String {
        let mut out = String::new();
        escape_into(&mut out, s, attr);
        out
    }

    #[test]
    fn text_escapes_markup_and_carriage_return_only() {
        assert_eq!(esc("a<b>&\"'\r\n\t", false), "a&lt;b&gt;&amp;\"'&#13;\n\t");
    }

    #[test]
    fn attributes_escape_quotes_and_whitespace_controls() {
        assert_eq!(esc("a\"b'\t\n\r", true), "a&quot;b'&#9;&#10;&#13;");
    }

    #[test]
    fn controls_become_references_and_nul_the_replacement_character() {
        assert_eq!(esc("\u{1}\u{0}\u{FFFF}", false), "&#1;\u{FFFD}&#65535;");
    }
}
