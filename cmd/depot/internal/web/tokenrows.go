package web

import (
	"html"
	"html/template"
	"strings"
)

// tokenLabels are the texts every row of the token list repeats, looked
// up once a page.
type tokenLabels struct {
	copied, copy, use, expired, enabled, disabled, edit, disable, enable,
	more, regenerate, delete, validity, lastUsed, created, ipWhitelist string
}

func newTokenLabels(l lang) tokenLabels {
	return tokenLabels{
		copied: l.t("tokens.copied"), copy: l.t("tokens.copy"), use: l.t("tokens.use"),
		expired: l.t("tokens.expired"), enabled: l.t("tokens.enabled"), disabled: l.t("tokens.disabled"),
		edit: l.t("tokens.edit"), disable: l.t("tokens.disable"), enable: l.t("tokens.enable"),
		more: l.t("tokens.more"), regenerate: l.t("tokens.regenerate"), delete: l.t("tokens.delete"),
		validity: l.t("tokens.validity"), lastUsed: l.t("tokens.lastUsed"), created: l.t("tokens.created.at"),
		ipWhitelist: l.t("tokens.ipWhitelist"),
	}
}

// tokenRowHTML writes one token of the list. The rows are written here
// rather than by the template: html/template calls an escaper through
// reflection for every value, and a user's hundred tokens made that most
// of the page's time. Every value is escaped with html.EscapeString,
// which is right for element text and quoted attributes alike; none goes
// into a URL, a script or a style.
func tokenRowHTML(b *strings.Builder, row tokenRow, lb *tokenLabels, csrf, user, host string) {
	e := html.EscapeString
	id := e(row.ID)
	w := b.WriteString
	w(`<li class="card token`)
	if row.Secret != "" {
		w(` fresh`)
	}
	w(`" id="token-` + id + `" data-description="` + e(row.Description) + `">`)
	if row.Secret != "" {
		s := e(row.Secret)
		w(`<div class="secret-box"><div class="secret-line"><code class="secret" id="new-token">` + s + `</code>`)
		w(`<button class="copy primary small" type="button" data-copy="` + s + `" data-done="` + e(lb.copied) + `">` + e(lb.copy) + `</button></div>`)
		w(`<p class="small">` + e(lb.use) + `</p>`)
		w(`<pre class="cmd">git clone http://` + e(user) + `:` + s + `@` + e(host) + `/OWNER/NAME.git` + "\n")
		w(`curl -H "Authorization: Bearer ` + s + `" http://` + e(host) + `/api/current_user</pre></div>`)
	}
	w(`<div class="token-head"><span class="description">` + e(row.Description) + `</span>`)
	switch {
	case row.Expired:
		w(`<span class="badge off">` + e(lb.expired) + `</span>`)
	case row.Enabled:
		w(`<span class="badge on">` + e(lb.enabled) + `</span>`)
	default:
		w(`<span class="badge off">` + e(lb.disabled) + `</span>`)
	}
	c := e(csrf)
	w(`<div class="token-actions"><a class="button small" href="/settings/tokens/` + id + `">` + e(lb.edit) + `</a>`)
	w(`<form method="post" action="/settings/tokens/` + id + `/status" class="inline"><input type="hidden" name="csrf" value="` + c + `">`)
	if row.Enabled {
		w(`<input type="hidden" name="status" value="disabled"><button class="small" type="submit">` + e(lb.disable) + `</button>`)
	} else {
		w(`<input type="hidden" name="status" value="enabled"><button class="small" type="submit">` + e(lb.enable) + `</button>`)
	}
	w(`</form><details class="menu"><summary class="button small" aria-label="` + e(lb.more) + `">⋯</summary><div class="menu-items">`)
	w(`<form method="post" action="/settings/tokens/` + id + `/regenerate" data-confirm="` + e(row.RegenerateQ) + `">`)
	w(`<input type="hidden" name="csrf" value="` + c + `"><input type="hidden" name="confirmed" value="">`)
	w(`<button class="menu-item" type="submit">` + e(lb.regenerate) + `</button></form>`)
	w(`<form method="post" action="/settings/tokens/` + id + `/delete" data-confirm="` + e(row.DeleteQ) + `">`)
	w(`<input type="hidden" name="csrf" value="` + c + `"><input type="hidden" name="confirmed" value="">`)
	w(`<button class="menu-item danger-text" type="submit">` + e(lb.delete) + `</button></form></div></details></div></div>`)
	w(`<div class="chips">`)
	for _, sc := range row.Scopes {
		w(`<code class="chip">` + e(sc) + `</code>`)
	}
	w(`</div><dl class="meta">`)
	w(`<div><dt>` + e(lb.validity) + `</dt><dd>` + e(row.Validity) + `</dd></div>`)
	w(`<div><dt>` + e(lb.lastUsed) + `</dt><dd class="last-used">` + e(row.LastUsed) + `</dd></div>`)
	w(`<div><dt>` + e(lb.created) + `</dt><dd>` + e(row.Created) + `</dd></div>`)
	if row.Whitelist != "" {
		w(`<div><dt>` + e(lb.ipWhitelist) + `</dt><dd>` + e(row.Whitelist) + `</dd></div>`)
	}
	w(`</dl></li>`)
}

// tokenRowsHTML is the list's rows, ready for the template.
func tokenRowsHTML(rows []tokenRow, l lang, csrf, user, host string) template.HTML {
	lb := newTokenLabels(l)
	var b strings.Builder
	b.Grow(len(rows) * 2048)
	for _, r := range rows {
		tokenRowHTML(&b, r, &lb, csrf, user, host)
	}
	return template.HTML(b.String())
}
