import ModelSecIO

/// ``ModelSecIO/ExactString``, under the name callers of this module have
/// always used (it moved to the base module so that the scanner, which does
/// not depend on keys, compares names with the same type).
public typealias ExactString = ModelSecIO.ExactString
