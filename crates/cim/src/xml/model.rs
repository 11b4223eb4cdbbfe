//! The CIM objects that cross the wire in CIM-XML: instances, classes,
//! properties, methods, parameters and qualifiers.
//!
//! Why separate from [`crate::value`]: [`CimValue`] holds the DSP0004 scalar
//! and array types; a CIM-XML property can also hold an embedded instance
//! ([`PropertyValue::Instance`]), carries CIM-XML attributes (`CLASSORIGIN`,
//! `PROPAGATED`, `EmbeddedObject`) and qualifiers. These types are plain
//! data with public fields, like [`ObjectPath`]; constructors and builders
//! are conveniences.
//!
//! ```
//! use cim::xml::{Instance, Property};
//! use cim::CimValue;
//!
//! let job = Instance::new("CIMJOB_ConcreteJob")
//!     .with_property(Property::new("InstanceID", "CIMJOB:1"))
//!     .with_property(Property::new("JobState", CimValue::UInt16(4)));
//! assert_eq!(job.value("jobstate").and_then(|v| v.as_cim()), Some(&CimValue::UInt16(4)));
//! let path = job.path(Some("root/cimv2"), &["InstanceID"]).unwrap();
//! assert_eq!(path.to_string(), r#"/root/cimv2:CIMJOB_ConcreteJob.InstanceID="CIMJOB:1""#);
//! ```

use crate::decl::{PropertyDecl, Qualifiers};
use crate::path::{KeyValue, ObjectPath};
use crate::value::{CimArray, CimType, CimValue, ValueType};

/// How an embedded object is marked on a property or parameter: the
/// CIM-XML `EmbeddedObject` attribute.
///
/// Why two kinds: DSP0201 distinguishes `EmbeddedObject="instance"` (the
/// MOF `EmbeddedInstance("Class")` qualifier) from `EmbeddedObject="object"`
/// (the `EmbeddedObject` qualifier, an instance or a class). The value is
/// the same escaped `INSTANCE` element text either way.
///
/// ```
/// use cim::xml::EmbeddedKind;
///
/// assert_eq!(EmbeddedKind::Instance.as_str(), "instance");
/// assert_eq!(EmbeddedKind::from_attr("OBJECT"), Some(EmbeddedKind::Object));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EmbeddedKind {
    /// `EmbeddedObject="instance"`: what pywbem and OpenPegasus write for
    /// `EmbeddedInstance` properties and parameters.
    Instance,
    /// `EmbeddedObject="object"`.
    Object,
}

impl EmbeddedKind {
    /// The attribute value, `"instance"` or `"object"`.
    pub fn as_str(self) -> &'static str {
        match self {
            EmbeddedKind::Instance => "instance",
            EmbeddedKind::Object => "object",
        }
    }

    /// The kind named by an attribute value, ignoring ASCII case; `None` for
    /// anything else.
    pub fn from_attr(s: &str) -> Option<EmbeddedKind> {
        if s.eq_ignore_ascii_case("instance") {
            Some(EmbeddedKind::Instance)
        } else if s.eq_ignore_ascii_case("object") {
            Some(EmbeddedKind::Object)
        } else {
            None
        }
    }
}

/// The value of a property: a typed [`CimValue`] (scalar, array or
/// reference), or one or more embedded instances.
///
/// Why not just [`CimValue`]: embedded instances (CIM_Error in a method's
/// output, SourceInstance of CIM_InstModification) are instances, not
/// strings, once decoded; `CimValue` has no variant for them.
///
/// ```
/// use cim::xml::{Instance, PropertyValue};
/// use cim::CimValue;
///
/// let v = PropertyValue::from(CimValue::UInt16(2));
/// assert_eq!(v.as_cim(), Some(&CimValue::UInt16(2)));
/// let e = PropertyValue::Instance(Box::new(Instance::new("CIM_Error")));
/// assert_eq!(e.as_instance().unwrap().class_name, "CIM_Error");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum PropertyValue {
    /// A typed value of any [`CimType`] but `instance`.
    Cim(CimValue),
    /// One embedded instance.
    Instance(Box<Instance>),
    /// An array of embedded instances.
    Instances(Vec<Instance>),
}

impl PropertyValue {
    /// The typed value, if this is not an embedded instance.
    pub fn as_cim(&self) -> Option<&CimValue> {
        match self {
            PropertyValue::Cim(v) => Some(v),
            _ => None,
        }
    }

    /// The embedded instance, if this is one.
    pub fn as_instance(&self) -> Option<&Instance> {
        match self {
            PropertyValue::Instance(i) => Some(i),
            _ => None,
        }
    }

    /// The embedded instances, if this is an array of them.
    pub fn as_instances(&self) -> Option<&[Instance]> {
        match self {
            PropertyValue::Instances(v) => Some(v),
            _ => None,
        }
    }

    /// Whether the value is an embedded instance or an array of them.
    pub fn is_embedded(&self) -> bool {
        !matches!(self, PropertyValue::Cim(_))
    }
}

impl From<CimValue> for PropertyValue {
    /// A typed value.
    fn from(v: CimValue) -> PropertyValue {
        PropertyValue::Cim(v)
    }
}

impl From<Instance> for PropertyValue {
    /// An embedded instance.
    fn from(i: Instance) -> PropertyValue {
        PropertyValue::Instance(Box::new(i))
    }
}

/// The flavors of a qualifier (DSP0004): may subclasses override it, is it
/// inherited, does it appear on instances, is it translatable.
///
/// The [`Default`] is the DSP0201 attribute defaults (`OVERRIDABLE="true"`,
/// `TOSUBCLASS="true"`, `TOINSTANCE="false"`, `TRANSLATABLE="false"`); the
/// writer only writes attributes that differ from them.
///
/// ```
/// use cim::xml::Flavors;
///
/// let key = Flavors { overridable: false, ..Flavors::default() };
/// assert!(key.to_subclass);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Flavors {
    /// `OVERRIDABLE`: subclasses may change the value (`DisableOverride` when false).
    pub overridable: bool,
    /// `TOSUBCLASS`: inherited by subclasses (`Restricted` when false).
    pub to_subclass: bool,
    /// `TOINSTANCE`: propagated to instances (deprecated in DSP0004).
    pub to_instance: bool,
    /// `TRANSLATABLE`: the value may be localized.
    pub translatable: bool,
}

impl Flavors {
    /// The DSP0201 defaults, as a constant for struct-update syntax.
    pub const DEFAULT: Flavors = Flavors {
        overridable: true,
        to_subclass: true,
        to_instance: false,
        translatable: false,
    };
}

impl Default for Flavors {
    /// [`Flavors::DEFAULT`].
    fn default() -> Flavors {
        Flavors::DEFAULT
    }
}

/// A qualifier with its value, as it appears on a class, property, method
/// or parameter (CIM-XML `QUALIFIER`).
///
/// ```
/// use cim::xml::QualifierValue;
/// use cim::{CimType, CimValue};
///
/// let q = QualifierValue::new("MaxLen", CimValue::UInt32(256));
/// assert_eq!(q.ty, CimType::UInt32);
/// let key = QualifierValue::new("Key", true).not_overridable();
/// assert!(!key.flavors.overridable);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct QualifierValue {
    /// The qualifier name, e.g. `"Description"`.
    pub name: String,
    /// The type of the value (for arrays, the element type).
    pub ty: CimType,
    /// The value; `None` for NULL.
    pub value: Option<CimValue>,
    /// `PROPAGATED`: inherited rather than set on this element.
    pub propagated: bool,
    /// The flavors.
    pub flavors: Flavors,
}

impl QualifierValue {
    /// A qualifier with a value, typed from the value, default flavors.
    pub fn new(name: &str, value: impl Into<CimValue>) -> QualifierValue {
        let value = value.into();
        QualifierValue {
            name: name.to_owned(),
            ty: value.cim_type(),
            value: Some(value),
            propagated: false,
            flavors: Flavors::DEFAULT,
        }
    }

    /// A string-array qualifier such as `ValueMap` or `Values`.
    ///
    /// ```
    /// let q = cim::xml::QualifierValue::strings("ValueMap", &["2", "3"]);
    /// assert_eq!(q.value.unwrap().as_array().unwrap().items().len(), 2);
    /// ```
    pub fn strings(name: &str, items: &[&str]) -> QualifierValue {
        let items = items.iter().map(|s| CimValue::from(*s)).collect();
        let array = CimArray::new(CimType::String, items).expect("all items are strings");
        QualifierValue::new(name, array)
    }

    /// Returns the qualifier with `OVERRIDABLE="false"` (DisableOverride).
    pub fn not_overridable(mut self) -> QualifierValue {
        self.flavors.overridable = false;
        self
    }

    /// Returns the qualifier with `TRANSLATABLE="true"`.
    pub fn translatable(mut self) -> QualifierValue {
        self.flavors.translatable = true;
        self
    }
}

/// Where a qualifier may be used (CIM-XML `SCOPE`), part of a
/// [`QualifierDeclaration`].
///
/// ```
/// let s = cim::xml::Scopes { property: true, ..cim::xml::Scopes::NONE };
/// assert!(s.property && !s.class);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Scopes {
    /// On classes.
    pub class: bool,
    /// On associations.
    pub association: bool,
    /// On references.
    pub reference: bool,
    /// On properties.
    pub property: bool,
    /// On methods.
    pub method: bool,
    /// On parameters.
    pub parameter: bool,
    /// On indications.
    pub indication: bool,
}

impl Scopes {
    /// No scope at all.
    pub const NONE: Scopes = Scopes {
        class: false,
        association: false,
        reference: false,
        property: false,
        method: false,
        parameter: false,
        indication: false,
    };

    /// Every scope (`Scope(any)`).
    pub const ANY: Scopes = Scopes {
        class: true,
        association: true,
        reference: true,
        property: true,
        method: true,
        parameter: true,
        indication: true,
    };
}

/// A qualifier type declaration (CIM-XML `QUALIFIER.DECLARATION`), what
/// GetQualifier and EnumerateQualifiers return and SetQualifier takes.
///
/// ```
/// use cim::xml::{Flavors, QualifierDeclaration, Scopes};
/// use cim::CimType;
///
/// let d = QualifierDeclaration {
///     name: "Key".into(), ty: CimType::Boolean, is_array: false, array_size: None,
///     value: Some(false.into()), scopes: Scopes { property: true, reference: true, ..Scopes::NONE },
///     flavors: Flavors { overridable: false, ..Flavors::DEFAULT },
/// };
/// assert!(d.scopes.reference);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct QualifierDeclaration {
    /// The qualifier name.
    pub name: String,
    /// The type (for arrays, the element type).
    pub ty: CimType,
    /// `ISARRAY`.
    pub is_array: bool,
    /// `ARRAYSIZE` for fixed-size arrays.
    pub array_size: Option<u32>,
    /// The default value; `None` for NULL.
    pub value: Option<CimValue>,
    /// Where it may be used.
    pub scopes: Scopes,
    /// The default flavors.
    pub flavors: Flavors,
}

/// A property of an instance, or a property declaration of a class (the
/// CIM-XML `PROPERTY`, `PROPERTY.ARRAY` and `PROPERTY.REFERENCE` elements,
/// which share these fields).
///
/// For an embedded instance, `ty` is [`CimType::String`] and
/// `embedded_object` is set, exactly as DSP0201 puts it on the wire
/// (`TYPE="string" EmbeddedObject="instance"`).
///
/// ```
/// use cim::xml::{EmbeddedKind, Instance, Property};
/// use cim::{CimType, CimValue};
///
/// let p = Property::new("Priority", CimValue::UInt32(5));
/// assert_eq!((p.ty, p.is_array), (CimType::UInt32, false));
/// let null = Property::null("ElapsedTime", CimType::DateTime, false);
/// assert!(null.value.is_none());
/// let e = Property::embedded_instance("SourceInstance", Instance::new("CIMJOB_ConcreteJob"));
/// assert_eq!((e.ty, e.embedded_object), (CimType::String, Some(EmbeddedKind::Instance)));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Property {
    /// The property name.
    pub name: String,
    /// The scalar or element type.
    pub ty: CimType,
    /// Whether the property is an array.
    pub is_array: bool,
    /// `ARRAYSIZE` of a fixed-size array declaration.
    pub array_size: Option<u32>,
    /// `REFERENCECLASS` of a reference property.
    pub reference_class: Option<String>,
    /// `CLASSORIGIN`: the class that first declares the property.
    pub class_origin: Option<String>,
    /// `PROPAGATED`: inherited from the superclass unchanged.
    pub propagated: bool,
    /// `EmbeddedObject`: the string value holds an embedded object.
    pub embedded_object: Option<EmbeddedKind>,
    /// The qualifiers (usually empty on instances).
    pub qualifiers: Vec<QualifierValue>,
    /// The value (for a class: the default); `None` for NULL.
    pub value: Option<PropertyValue>,
}

impl Property {
    /// A property with a value, typed from the value.
    pub fn new(name: &str, value: impl Into<CimValue>) -> Property {
        let value = value.into();
        Property {
            ty: value.cim_type(),
            is_array: value.is_array(),
            value: Some(PropertyValue::Cim(value)),
            ..Property::null(name, CimType::String, false)
        }
    }

    /// A NULL property of the given type.
    pub fn null(name: &str, ty: CimType, is_array: bool) -> Property {
        Property {
            name: name.to_owned(),
            ty,
            is_array,
            array_size: None,
            reference_class: None,
            class_origin: None,
            propagated: false,
            embedded_object: None,
            qualifiers: Vec::new(),
            value: None,
        }
    }

    /// A property holding one embedded instance
    /// (`TYPE="string" EmbeddedObject="instance"`).
    pub fn embedded_instance(name: &str, instance: Instance) -> Property {
        Property {
            embedded_object: Some(EmbeddedKind::Instance),
            value: Some(PropertyValue::Instance(Box::new(instance))),
            ..Property::null(name, CimType::String, false)
        }
    }

    /// A property holding an array of embedded instances.
    pub fn embedded_instances(name: &str, instances: Vec<Instance>) -> Property {
        Property {
            embedded_object: Some(EmbeddedKind::Instance),
            value: Some(PropertyValue::Instances(instances)),
            ..Property::null(name, CimType::String, true)
        }
    }

    /// A property shaped by its declaration (type, array-ness,
    /// `CLASSORIGIN`, `EmbeddedObject` for `EmbeddedInstance`/
    /// `EmbeddedObject` qualifiers), holding `value`.
    ///
    /// Why: a provider building instances from its static
    /// [`PropertyDecl`] table gets the same type and origin GetClass
    /// reports. The value is not checked here; see [`PropertyDecl::check`].
    ///
    /// ```
    /// use cim::xml::Property;
    /// use cim::{CimType, CimValue, PropertyDecl, Qualifiers};
    ///
    /// static PRIORITY: PropertyDecl = PropertyDecl {
    ///     name: "Priority", ty: CimType::UInt32, is_array: false, class_origin: "CIM_Job",
    ///     qualifiers: Qualifiers::NONE, description: "", default: None, reference_class: None,
    /// };
    /// let p = Property::from_decl(&PRIORITY, Some(CimValue::UInt32(3)));
    /// assert_eq!(p.class_origin.as_deref(), Some("CIM_Job"));
    /// ```
    pub fn from_decl(decl: &PropertyDecl, value: Option<CimValue>) -> Property {
        Property {
            name: decl.name.to_owned(),
            ty: decl.ty,
            is_array: decl.is_array,
            reference_class: decl.reference_class.map(str::to_owned),
            class_origin: (!decl.class_origin.is_empty()).then(|| decl.class_origin.to_owned()),
            embedded_object: embedded_kind_of(&decl.qualifiers),
            value: value.map(PropertyValue::Cim),
            // written out, not `..Property::null(..)`: that would allocate the name twice
            array_size: None,
            propagated: false,
            qualifiers: Vec::new(),
        }
    }

    /// Type and array-ness together.
    pub fn value_type(&self) -> ValueType {
        ValueType {
            ty: self.ty,
            is_array: self.is_array,
        }
    }

    /// The typed value, if set and not an embedded instance.
    pub fn cim_value(&self) -> Option<&CimValue> {
        self.value.as_ref().and_then(PropertyValue::as_cim)
    }

    /// The qualifier named `name` (ASCII case ignored).
    pub fn qualifier(&self, name: &str) -> Option<&QualifierValue> {
        find_qualifier(&self.qualifiers, name)
    }

    /// Returns the property with `CLASSORIGIN` set.
    pub fn with_class_origin(mut self, class: &str) -> Property {
        self.class_origin = Some(class.to_owned());
        self
    }

    /// Returns the property with a qualifier added.
    pub fn with_qualifier(mut self, q: QualifierValue) -> Property {
        self.qualifiers.push(q);
        self
    }

    /// The value as a key binding value (for building instance paths):
    /// strings, integers, booleans and references map directly; datetimes
    /// and char16 become strings, as the untyped WBEM URI form has them.
    /// `None` for NULL, arrays, reals and embedded instances.
    ///
    /// ```
    /// use cim::xml::Property;
    /// use cim::{CimValue, KeyValue};
    ///
    /// assert_eq!(Property::new("Id", CimValue::UInt8(7)).key_value(), Some(KeyValue::Integer(7)));
    /// ```
    pub fn key_value(&self) -> Option<KeyValue> {
        Some(match self.cim_value()? {
            CimValue::String(s) => KeyValue::String(s.clone()),
            CimValue::Boolean(b) => KeyValue::Boolean(*b),
            CimValue::Reference(p) => KeyValue::Reference(Box::new(p.clone())),
            CimValue::DateTime(d) => KeyValue::String(d.to_string()),
            CimValue::Char16(c) => KeyValue::String(c.to_string()),
            v => KeyValue::Integer(v.as_i128()?),
        })
    }
}

fn embedded_kind_of(q: &Qualifiers) -> Option<EmbeddedKind> {
    if q.embedded_instance.is_some() {
        Some(EmbeddedKind::Instance)
    } else if q.embedded_object {
        Some(EmbeddedKind::Object)
    } else {
        None
    }
}

fn find_qualifier<'q>(qs: &'q [QualifierValue], name: &str) -> Option<&'q QualifierValue> {
    qs.iter().find(|q| q.name.eq_ignore_ascii_case(name))
}

/// A CIM instance (CIM-XML `INSTANCE`): its class and its properties.
///
/// Property names compare ignoring ASCII case, as CIM names do; order is
/// kept as given and written in that order.
///
/// ```
/// use cim::xml::{Instance, Property};
///
/// let i = Instance::new("CIM_Error").with_property(Property::new("Message", "disk full"));
/// assert_eq!(i.property("MESSAGE").unwrap().cim_value().unwrap().as_str(), Some("disk full"));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Instance {
    /// The class name.
    pub class_name: String,
    /// Instance-level qualifiers (rare; DSP0004 deprecates them).
    pub qualifiers: Vec<QualifierValue>,
    /// The properties, in order.
    pub properties: Vec<Property>,
}

impl Instance {
    /// An instance of `class_name` without properties.
    pub fn new(class_name: &str) -> Instance {
        Instance {
            class_name: class_name.to_owned(),
            qualifiers: Vec::new(),
            properties: Vec::new(),
        }
    }

    /// Returns the instance with `p` set: a property of the same name
    /// (ignoring case) is replaced in place, otherwise `p` is appended.
    pub fn with_property(mut self, p: Property) -> Instance {
        self.set_property(p);
        self
    }

    /// Sets `p`, replacing a property of the same name (ignoring case).
    pub fn set_property(&mut self, p: Property) {
        match self
            .properties
            .iter_mut()
            .find(|q| q.name.eq_ignore_ascii_case(&p.name))
        {
            Some(slot) => *slot = p,
            None => self.properties.push(p),
        }
    }

    /// The property named `name` (ASCII case ignored).
    pub fn property(&self, name: &str) -> Option<&Property> {
        self.properties
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// The value of property `name`; `None` if absent or NULL.
    pub fn value(&self, name: &str) -> Option<&PropertyValue> {
        self.property(name).and_then(|p| p.value.as_ref())
    }

    /// The instance path built from the named key properties, in the
    /// order given; `None` if a key is missing, NULL or not usable as a key
    /// (see [`Property::key_value`]).
    ///
    /// ```
    /// use cim::xml::{Instance, Property};
    ///
    /// let i = Instance::new("CIM_Foo").with_property(Property::new("Name", "a"));
    /// assert_eq!(i.path(None, &["Name"]).unwrap().to_string(), r#"/:CIM_Foo.Name="a""#);
    /// assert!(i.path(None, &["Missing"]).is_none());
    /// ```
    pub fn path(&self, namespace: Option<&str>, key_names: &[&str]) -> Option<ObjectPath> {
        let mut path = ObjectPath::new(namespace, &self.class_name);
        for name in key_names {
            let p = self.property(name)?;
            path = path.with_key(&p.name, p.key_value()?);
        }
        Some(path)
    }
}

/// An instance together with its path: CIM-XML `VALUE.NAMEDINSTANCE`
/// (path as `INSTANCENAME`, no namespace), `VALUE.INSTANCEWITHPATH` and
/// the instance half of `VALUE.OBJECTWITHPATH` (path as `INSTANCEPATH`).
///
/// ```
/// use cim::xml::{Instance, InstanceWithPath};
/// use cim::ObjectPath;
///
/// let n = InstanceWithPath::new(ObjectPath::new(None, "CIM_Foo"), Instance::new("CIM_Foo"));
/// assert_eq!(n.instance.class_name, n.path.class_name);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceWithPath {
    /// The instance's path.
    pub path: ObjectPath,
    /// The instance.
    pub instance: Instance,
}

impl InstanceWithPath {
    /// Pairs a path and an instance.
    pub fn new(path: ObjectPath, instance: Instance) -> InstanceWithPath {
        InstanceWithPath { path, instance }
    }
}

/// A class or an instance (CIM-XML `VALUE.OBJECT` and the object halves of
/// `VALUE.OBJECTWITHPATH`).
#[derive(Clone, Debug, PartialEq)]
pub enum Object {
    /// A class.
    Class(Class),
    /// An instance.
    Instance(Instance),
}

/// A class or an instance with its path: CIM-XML `VALUE.OBJECTWITHPATH`
/// (`CLASSPATH`/`INSTANCEPATH`) and `VALUE.OBJECTWITHLOCALPATH`
/// (`LOCALCLASSPATH`/`LOCALINSTANCEPATH`). Associators and References
/// answer with these.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectWithPath {
    /// The path: a class path (no keys) for a class, an instance path for
    /// an instance.
    pub path: ObjectPath,
    /// The object.
    pub object: Object,
}

/// An instance path or a class path: the two forms of CIM-XML `OBJECTPATH`
/// (AssociatorNames and ReferenceNames answer with these).
///
/// Why an enum: a keyless instance path (a singleton) and a class path look
/// alike as an [`ObjectPath`], but are different elements on the wire.
///
/// ```
/// use cim::xml::ObjectName;
/// use cim::ObjectPath;
///
/// let n = ObjectName::Class(ObjectPath::new(Some("root/cimv2"), "CIM_Job"));
/// assert_eq!(n.path().class_name, "CIM_Job");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum ObjectName {
    /// An instance path (`INSTANCEPATH`).
    Instance(ObjectPath),
    /// A class path (`CLASSPATH`).
    Class(ObjectPath),
}

impl ObjectName {
    /// The path, whichever kind it is.
    pub fn path(&self) -> &ObjectPath {
        match self {
            ObjectName::Instance(p) | ObjectName::Class(p) => p,
        }
    }
}

/// A parameter declaration of a method (CIM-XML `PARAMETER`,
/// `PARAMETER.REFERENCE`, `PARAMETER.ARRAY`, `PARAMETER.REFARRAY`).
///
/// Direction (`In`, `Out`) and embedded instances are qualifiers, as in
/// MOF.
///
/// ```
/// use cim::xml::{Parameter, QualifierValue};
/// use cim::CimType;
///
/// let p = Parameter::new("RequestedState", CimType::UInt16, false)
///     .with_qualifier(QualifierValue::new("In", true));
/// assert_eq!(p.qualifiers.len(), 1);
/// let job = Parameter::reference("Job", Some("CIM_ConcreteJob"));
/// assert_eq!(job.ty, CimType::Reference);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Parameter {
    /// The parameter name.
    pub name: String,
    /// The scalar or element type ([`CimType::Reference`] for references).
    pub ty: CimType,
    /// Whether the parameter is an array.
    pub is_array: bool,
    /// `ARRAYSIZE` of a fixed-size array.
    pub array_size: Option<u32>,
    /// `REFERENCECLASS` of a reference parameter.
    pub reference_class: Option<String>,
    /// The qualifiers (`In`, `Out`, `Description`, `EmbeddedInstance`, ...).
    pub qualifiers: Vec<QualifierValue>,
}

impl Parameter {
    /// A parameter of type `ty`.
    pub fn new(name: &str, ty: CimType, is_array: bool) -> Parameter {
        Parameter {
            name: name.to_owned(),
            ty,
            is_array,
            array_size: None,
            reference_class: None,
            qualifiers: Vec::new(),
        }
    }

    /// A reference parameter to instances of `class` (any class if `None`).
    pub fn reference(name: &str, class: Option<&str>) -> Parameter {
        Parameter {
            reference_class: class.map(str::to_owned),
            ..Parameter::new(name, CimType::Reference, false)
        }
    }

    /// Returns the parameter with a qualifier added.
    pub fn with_qualifier(mut self, q: QualifierValue) -> Parameter {
        self.qualifiers.push(q);
        self
    }
}

/// A method declaration of a class (CIM-XML `METHOD`).
///
/// ```
/// use cim::xml::{Method, Parameter};
/// use cim::CimType;
///
/// let m = Method::new("KillJob", Some(CimType::UInt32))
///     .with_parameter(Parameter::new("DeleteOnKill", CimType::Boolean, false));
/// assert_eq!(m.parameters[0].name, "DeleteOnKill");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Method {
    /// The method name.
    pub name: String,
    /// The return type; `None` when the element has no `TYPE` (void).
    pub return_type: Option<CimType>,
    /// `CLASSORIGIN`.
    pub class_origin: Option<String>,
    /// `PROPAGATED`.
    pub propagated: bool,
    /// The qualifiers.
    pub qualifiers: Vec<QualifierValue>,
    /// The parameters, in order.
    pub parameters: Vec<Parameter>,
}

impl Method {
    /// A method without qualifiers or parameters.
    pub fn new(name: &str, return_type: Option<CimType>) -> Method {
        Method {
            name: name.to_owned(),
            return_type,
            class_origin: None,
            propagated: false,
            qualifiers: Vec::new(),
            parameters: Vec::new(),
        }
    }

    /// Returns the method with a parameter appended.
    pub fn with_parameter(mut self, p: Parameter) -> Method {
        self.parameters.push(p);
        self
    }

    /// Returns the method with a qualifier added.
    pub fn with_qualifier(mut self, q: QualifierValue) -> Method {
        self.qualifiers.push(q);
        self
    }

    /// Returns the method with `CLASSORIGIN` set.
    pub fn with_class_origin(mut self, class: &str) -> Method {
        self.class_origin = Some(class.to_owned());
        self
    }
}

/// A CIM class (CIM-XML `CLASS`): name, superclass, qualifiers,
/// property declarations and methods.
///
/// Build one from the static property tables with [`Class::from_decls`],
/// so GetClass answers come from the same declarations that validate
/// values.
#[derive(Clone, Debug, PartialEq)]
pub struct Class {
    /// The class name.
    pub name: String,
    /// The superclass, if any.
    pub superclass: Option<String>,
    /// Class qualifiers (`Description`, `Version`, `Association`, ...).
    pub qualifiers: Vec<QualifierValue>,
    /// Property declarations; the value is the default.
    pub properties: Vec<Property>,
    /// Method declarations.
    pub methods: Vec<Method>,
}

impl Class {
    /// A class without qualifiers, properties or methods.
    pub fn new(name: &str, superclass: Option<&str>) -> Class {
        Class {
            name: name.to_owned(),
            superclass: superclass.map(str::to_owned),
            qualifiers: Vec::new(),
            properties: Vec::new(),
            methods: Vec::new(),
        }
    }

    /// A class whose properties are the given declarations, in order.
    ///
    /// Each property gets its type, `CLASSORIGIN`, `PROPAGATED` (true when
    /// the origin is another class), its default value, `EmbeddedObject`
    /// for embedded-instance strings, and the qualifiers the declaration
    /// sets: `Key` and `Required` (not overridable), `Write`, `MaxLen`,
    /// `MinValue`, `MaxValue`, `ValueMap`, `Values` and `Description`
    /// (translatable), `Deprecated`, `Units`, `EmbeddedInstance`,
    /// `EmbeddedObject`, `ArrayType("Indexed")`, `SubType("interval")`.
    /// A default that does not parse is left out (see
    /// [`PropertyDecl::defects`]).
    ///
    /// ```
    /// use cim::xml::{Class, QualifierValue};
    /// use cim::{CimType, PropertyDecl, Qualifiers};
    ///
    /// static ID: PropertyDecl = PropertyDecl {
    ///     name: "InstanceID", ty: CimType::String, is_array: false, class_origin: "CIM_ManagedElement",
    ///     qualifiers: Qualifiers { key: true, ..Qualifiers::NONE },
    ///     description: "Opaque identifier.", default: None, reference_class: None,
    /// };
    /// let c = Class::from_decls("CIMJOB_ConcreteJob", Some("CIM_ConcreteJob"), &[&ID],
    ///     vec![QualifierValue::new("Version", "1.0.0")]);
    /// let p = &c.properties[0];
    /// assert!(p.propagated);
    /// assert_eq!(p.qualifier("Key").unwrap().value, Some(true.into()));
    /// assert_eq!(p.qualifier("Description").unwrap().value, Some("Opaque identifier.".into()));
    /// ```
    pub fn from_decls(
        name: &str,
        superclass: Option<&str>,
        decls: &[&PropertyDecl],
        qualifiers: Vec<QualifierValue>,
    ) -> Class {
        Class {
            qualifiers,
            properties: decls
                .iter()
                .map(|d| {
                    let mut p = Property::from_decl(d, d.default_value());
                    p.propagated =
                        !d.class_origin.is_empty() && !d.class_origin.eq_ignore_ascii_case(name);
                    p.qualifiers = decl_qualifiers(d);
                    p
                })
                .collect(),
            ..Class::new(name, superclass)
        }
    }

    /// The property declaration named `name` (ASCII case ignored).
    pub fn property(&self, name: &str) -> Option<&Property> {
        self.properties
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// The method named `name` (ASCII case ignored).
    pub fn method(&self, name: &str) -> Option<&Method> {
        self.methods
            .iter()
            .find(|m| m.name.eq_ignore_ascii_case(name))
    }

    /// The class qualifier named `name` (ASCII case ignored).
    pub fn qualifier(&self, name: &str) -> Option<&QualifierValue> {
        find_qualifier(&self.qualifiers, name)
    }

    /// Returns the class with a method appended.
    pub fn with_method(mut self, m: Method) -> Class {
        self.methods.push(m);
        self
    }
}

/// The qualifiers a [`PropertyDecl`] states, as CIM-XML qualifier values.
fn decl_qualifiers(d: &PropertyDecl) -> Vec<QualifierValue> {
    let q = &d.qualifiers;
    let mut out = Vec::new();
    if q.key {
        out.push(QualifierValue::new("Key", true).not_overridable());
    }
    if q.required {
        out.push(QualifierValue::new("Required", true).not_overridable());
    }
    if q.write {
        out.push(QualifierValue::new("Write", true));
    }
    if !q.deprecated.is_empty() {
        out.push(QualifierValue::strings("Deprecated", q.deprecated));
    }
    if !d.description.is_empty() {
        out.push(QualifierValue::new("Description", d.description).translatable());
    }
    if let Some(n) = q.max_len {
        out.push(QualifierValue::new("MaxLen", CimValue::UInt32(n)));
    }
    if let Some(n) = q.min_value {
        out.push(QualifierValue::new("MinValue", CimValue::SInt64(n)));
    }
    if let Some(n) = q.max_value {
        out.push(QualifierValue::new("MaxValue", CimValue::SInt64(n)));
    }
    if !q.value_map.is_empty() {
        out.push(QualifierValue::strings("ValueMap", q.value_map));
    }
    if !q.values.is_empty() {
        out.push(QualifierValue::strings("Values", q.values).translatable());
    }
    if let Some(u) = q.units {
        out.push(QualifierValue::new("Units", u).translatable());
    }
    if let Some(c) = q.embedded_instance {
        out.push(QualifierValue::new("EmbeddedInstance", c));
    }
    if q.embedded_object {
        out.push(QualifierValue::new("EmbeddedObject", true));
    }
    if q.array_type_indexed {
        out.push(QualifierValue::new("ArrayType", "Indexed"));
    }
    if q.interval {
        out.push(QualifierValue::new("SubType", "interval"));
    }
    out
}
