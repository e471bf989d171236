#ifndef MODELSEC_BUILD_INFO_H
#define MODELSEC_BUILD_INFO_H

/// The git commit modelsec was built from ("unknown" outside a git checkout),
/// with "-modified" appended when the work tree had uncommitted changes.
/// Set by Package.swift from SwiftPM's git information; a C target because
/// Swift compilation conditions cannot carry a string value.
const char *modelsec_build_commit(void);

#endif
