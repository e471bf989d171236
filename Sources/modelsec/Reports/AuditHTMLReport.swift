import Foundation
import ModelSec

/// `modelsec audit --format html`: one self-contained page for people
/// (docs/policy.md, "html").
///
/// Nothing is fetched: the style and the filter script are inline, and the
/// page's Content-Security-Policy allows exactly those two blocks (by their
/// SHA-256) and nothing else — no network, no images, no other script. Every
/// string from a release or a policy goes through ``ReportEscaping/html(_:)``,
/// so markup in a release name or a finding is shown as text; the CSP is the
/// second wall should an escape ever be missed. Filters (by release outcome
/// and by rule) hide rows with the `hidden` attribute; without script the
/// page shows everything, and it prints without the filter bar.
enum AuditHTMLReport {
    static func render(_ report: AuditReport) -> String {
        let overview = AuditOverview(report)
        let e = ReportEscaping.html
        var body = ""
        body += "<header>\n<h1>modelsec audit</h1>\n"
        body += "<p class=\"meta\">modelsec \(e(report.toolVersion)), audit at <time>\(e(overview.generatedAt))</time></p>\n</header>\n"
        body += summary(overview)
        body += filters(overview)
        body += "<main>\n"
        for (index, section) in overview.sections.enumerated() { body += release(section, index: index) }
        body += "</main>\n"
        body += "<footer><p>Written by modelsec \(e(report.toolVersion)). Each release is named by name@version, its directory and the SHA-256 of its release.json (the bytes its signature covers).</p></footer>\n"

        let csp = "default-src 'none'; style-src '\(cspHash(style))'; script-src '\(cspHash(script))'; "
            + "img-src 'none'; base-uri 'none'; form-action 'none'"
        let title = "modelsec audit: \(report.totals.releases) release(s), \(report.totals.failures) failure(s)"
        return """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta http-equiv="Content-Security-Policy" content="\(csp)">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="generator" content="modelsec \(e(report.toolVersion))">
        <title>\(e(title))</title>
        <style>\(style)</style>
        </head>
        <body>
        \(body)<script>\(script)</script>
        </body>
        </html>

        """
    }

    /// Releases by outcome, the totals line, the signature trust and the policies with their digests.
    static func summary(_ overview: AuditOverview) -> String {
        let e = ReportEscaping.html
        let report = overview.report
        var out = "<section id=\"summary\">\n<h2>Summary</h2>\n"
        let outcomes = overview.releasesByOutcome.map { outcome, count in
            "<tr><td><span class=\"badge \(outcome.rawValue)\">\(outcome.label)</span></td>"
                + "<td id=\"count-\(outcome.rawValue)\">\(count)</td></tr>\n"
        }
        let total = "<tr class=\"total\"><td>Total</td><td id=\"count-releases\">\(overview.sections.count)</td></tr>\n"
        out += table("outcomes", headers: ["Outcome", "Releases"], rows: outcomes + [total])
        out += "<p id=\"totals\">\(e(report.totals.line))</p>\n"
        if report.totals.expiredWaivers > 0 {
            out += "<p>\(report.totals.expiredWaivers) result(s) matched only an expired waiver, which no longer applies.</p>\n"
        }
        out += "<p id=\"trust\">\(e(report.signatureTrust.line))</p>\n"
        out += "<h3>Policies</h3>\n"
        out += table("policies", headers: ["Name", "Version", "File", "SHA-256 of the policy file", "Rules", "Waivers"], rows: report.policies.map { p in
            "<tr><td>\(e(p.name))</td><td>\(e(p.version))</td><td>\(e(p.path))</td><td class=\"digest\">\(e(p.sha256))</td>"
                + "<td>\(p.rules)</td><td>\(p.waivers)</td></tr>\n"
        })
        out += "</section>\n"
        return out
    }

    /// The filter bar: hidden until the script shows it (it does nothing without the script).
    static func filters(_ overview: AuditOverview) -> String {
        let e = ReportEscaping.html
        var out = "<nav id=\"filters\" hidden>\n<label>Outcome <select id=\"filter-outcome\"><option value=\"\">all</option>"
        for outcome in AuditOverview.Outcome.allCases {
            out += "<option value=\"\(outcome.rawValue)\">\(outcome.label)</option>"
        }
        out += "</select></label>\n<label>Rule <select id=\"filter-rule\"><option value=\"\">all</option>"
        for rule in overview.ruleIDs { out += "<option value=\"\(e(rule))\">\(e(rule))</option>" }
        out += "</select></label>\n<span id=\"shown\"></span>\n</nav>\n"
        return out
    }

    /// One release: its identity, signer, checks, findings and waivers.
    static func release(_ section: AuditOverview.Section, index: Int) -> String {
        let e = ReportEscaping.html
        let r = section.release
        var out = "<section class=\"release\" id=\"release-\(index + 1)\" data-outcome=\"\(section.outcome.rawValue)\">\n"
        out += "<h2>\(e(AuditOverview.title(r))) <span class=\"badge \(section.outcome.rawValue)\">\(section.outcome.label)</span></h2>\n"
        out += "<dl>\n<dt>Directory</dt><dd>\(e(r.directory))</dd>\n"
        if r.readable {
            out += "<dt>release.json SHA-256</dt><dd class=\"digest\">\(e(r.manifestSHA256 ?? "unknown"))</dd>\n"
        }
        out += "<dt>Signer</dt><dd>\(e(AuditOverview.signer(r)))</dd>\n"
        if let error = r.error { out += "<dt>Unreadable</dt><dd>\(e(error.code)): \(e(error.message))</dd>\n" }
        out += "</dl>\n"

        out += "<h3>Checks</h3>\n"
        out += table("checks", headers: ["Policy", "Rule", "Check", "Severity", "Status", "Detail"], rows: section.results.map { result in
            "<tr data-rule=\"\(e(result.ruleID))\" data-status=\"\(result.status.rawValue)\">"
                + "<td>\(e(result.policy))</td><td title=\"\(e(result.title))\">\(e(result.ruleID))</td><td>\(e(result.check))</td>"
                + "<td>\(e(result.severity.rawValue))</td><td><span class=\"badge \(result.status.rawValue)\">\(result.status.label)</span></td>"
                + "<td>\(e(result.message))</td></tr>\n"
        })

        let findings = section.findings
        out += "<h3>Findings</h3>\n"
        if findings.isEmpty {
            out += "<p class=\"none\">None: every rule passed.</p>\n"
        } else {
            out += "<ul class=\"findings\">\n"
            for f in findings {
                out += "<li data-rule=\"\(e(f.ruleID))\"><span class=\"badge \(f.status.rawValue)\">\(f.status.label)</span> "
                out += "<strong>\(e(f.ruleID))</strong> (\(e(f.title))): \(e(f.message))"
                if !f.files.isEmpty {
                    out += "<ul class=\"files\">" + f.files.map { "<li><code>\(e($0))</code></li>" }.joined() + "</ul>"
                }
                out += "</li>\n"
            }
            out += "</ul>\n"
        }

        let waivers = section.waivers
        if !waivers.isEmpty {
            out += "<h3>Waivers</h3>\n"
            out += table("waivers", headers: ["Release pattern", "Reason", "Expires", "State", "Policy line"], rows: waivers.map { w in
                "<tr><td>\(e(w.release))</td><td>\(e(w.reason))</td><td><time>\(e(w.expires))</time></td>"
                    + "<td>\(w.expired ? "expired: does not apply" : "applies")</td><td>\(w.line)</td></tr>\n"
            })
        }
        out += "</section>\n"
        return out
    }

    /// A `<table class="NAME">` whose head row holds `headers` (fixed text,
    /// not escaped) and whose body is `rows`, each a finished `<tr>…</tr>` line.
    static func table(_ name: String, headers: [String], rows: [String]) -> String {
        "<table class=\"\(name)\">\n<thead><tr>" + headers.map { "<th>\($0)</th>" }.joined() + "</tr></thead>\n<tbody>\n"
            + rows.joined() + "</tbody>\n</table>\n"
    }

    /// `'sha256-BASE64'` of a block, for the Content-Security-Policy.
    static func cspHash(_ block: String) -> String {
        "sha256-" + Data(SHA2.SHA256.hash(data: Array(block.utf8)).bytes).base64EncodedString()
    }

    /// The page's style: readable on screen, the filter bar dropped in print.
    static let style = """

    body{font:14px/1.45 system-ui,sans-serif;margin:1.5em auto;max-width:78em;padding:0 1em;color:#1b1b1b}
    h1{margin:0}h2{margin-top:1.6em;border-bottom:1px solid #ccc;overflow-wrap:anywhere}
    .meta,footer{color:#555}
    table{border-collapse:collapse;margin:.5em 0;width:100%}
    th,td{border:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top;overflow-wrap:break-word}
    table.checks td:not(:last-child),table.checks th{white-space:nowrap}td.digest{word-break:break-all}
    th{background:#f3f3f3}table.outcomes{width:auto}
    .digest,code{font-family:ui-monospace,monospace;font-size:12px}
    dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em}dt{font-weight:600}dd{margin:0;overflow-wrap:break-word;word-break:break-word}
    .badge{white-space:nowrap;display:inline-block;padding:0 .45em;border-radius:.3em;font-weight:600;font-size:12px}
    .failure{background:#fdd;color:#900}.warning{background:#ffeab0;color:#6b4a00}
    .waived{background:#e4e4f8;color:#33337a}.passed{background:#ddf3dd;color:#1b5e1b}
    #filters{position:sticky;top:0;background:#fff;padding:.5em 0;border-bottom:1px solid #ccc;display:flex;gap:1.5em}
    [hidden]{display:none!important}
    @media print{#filters{display:none!important}section.release{break-inside:avoid-page}body{max-width:none}}

    """

    /// The filter script: shows the filter bar and hides what does not match.
    static let script = """

    (function () {
      "use strict";
      var outcome = document.getElementById("filter-outcome");
      var rule = document.getElementById("filter-rule");
      var shown = document.getElementById("shown");
      function apply() {
        var wantOutcome = outcome.value, wantRule = rule.value, visible = 0;
        var sections = document.querySelectorAll("section.release");
        for (var i = 0; i < sections.length; i++) {
          var section = sections[i], rows = section.querySelectorAll("[data-rule]"), anyRow = false;
          for (var j = 0; j < rows.length; j++) {
            var match = wantRule === "" || rows[j].getAttribute("data-rule") === wantRule;
            rows[j].hidden = !match;
            if (match) { anyRow = true; }
          }
          var show = (wantOutcome === "" || section.getAttribute("data-outcome") === wantOutcome) && (wantRule === "" || anyRow);
          section.hidden = !show;
          if (show) { visible++; }
        }
        shown.textContent = visible + " of " + sections.length + " release(s) shown";
      }
      outcome.addEventListener("change", apply);
      rule.addEventListener("change", apply);
      document.getElementById("filters").hidden = false;
      apply();
    })();

    """
}
