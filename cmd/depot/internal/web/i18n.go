package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// lang is a language the pages speak.
type lang int

const (
	langEN lang = iota
	langZH
)

// tag is the lang's BCP 47 tag, for <html lang> and the switch.
func (l lang) tag() string {
	if l == langZH {
		return "zh-CN"
	}
	return "en"
}

// langCookie remembers the language a visitor chose with the switch.
const langCookie = "depot_lang"

// parseLang reads a tag of the switch or the cookie.
func parseLang(s string) (lang, bool) {
	switch strings.ToLower(s) {
	case "en":
		return langEN, true
	case "zh-cn", "zh":
		return langZH, true
	}
	return langEN, false
}

// chooseLang returns the remembered choice, else the first language of
// Accept-Language (by weight) that the pages speak, else English.
func chooseLang(r *http.Request) lang {
	if c, err := r.Cookie(langCookie); err == nil {
		if l, ok := parseLang(c.Value); ok {
			return l
		}
	}
	best, bestQ := langEN, 0.0
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		primary, _, _ := strings.Cut(strings.ToLower(tag), "-")
		var l lang
		switch primary {
		case "zh":
			l = langZH
		case "en":
			l = langEN
		default:
			continue
		}
		if q > bestQ {
			best, bestQ = l, q
		}
	}
	return best
}

// switchLanguage answers a GET with ?lang=: it remembers the choice for a
// year and sends the visitor back to the page without the parameter. It
// reports whether it answered.
func (s *Server) switchLanguage(w http.ResponseWriter, r *http.Request) bool {
	q := r.URL.Query()
	l, ok := parseLang(q.Get("lang"))
	if r.Method != http.MethodGet || !ok {
		return false
	}
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l.tag(), Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
	q.Del("lang")
	back := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
	http.Redirect(w, r, back.String(), http.StatusSeeOther)
	return true
}

// t returns the text of key in l, formatted with args; a key without a
// text shows as itself, which a test catches.
func (l lang) t(key string, args ...any) string {
	m, ok := messages[key]
	if !ok {
		return key
	}
	s := m[l]
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// messages are every text of the pages, English and Simplified Chinese.
// The token pages use the words of CODING's help page (个人访问令牌,
// 新建令牌, 令牌描述, 重新生成, 删除全部, …).
var messages = map[string][2]string{
	"nav.repos":            {"Repositories", "代码仓库"},
	"nav.settings":         {"Account settings", "个人账户设置"},
	"nav.profile":          {"Profile", "个人资料"},
	"nav.tokens":           {"Access tokens", "访问令牌"},
	"nav.signout":          {"Sign out", "退出登录"},
	"lang.switch":          {"中文", "English"},
	"login.title":          {"Sign in to depot", "登录 depot"},
	"login.username":       {"Username", "用户名"},
	"login.password":       {"Password", "密码"},
	"login.submit":         {"Sign in", "登录"},
	"login.failed":         {"Wrong username or password.", "用户名或密码错误。"},
	"login.throttled":      {"Too many failed attempts. Try again in %d seconds.", "失败次数过多，请 %d 秒后再试。"},
	"login.hint":           {"Git over HTTP takes personal access tokens, not this password.", "通过 HTTP 使用 Git 时请用个人访问令牌，而非此密码。"},
	"home.title":           {"Repositories", "代码仓库"},
	"home.yours":           {"Your repositories", "我的仓库"},
	"home.projects":        {"Your projects", "我的项目"},
	"home.none":            {"No repositories yet.", "还没有仓库。"},
	"home.noprojects":      {"You belong to no project yet.", "你还没有加入任何项目。"},
	"home.tokens":          {"To clone and push, create a personal access token.", "克隆和推送前，请先新建个人访问令牌。"},
	"profile.title":        {"Profile", "个人资料"},
	"profile.globalKey":    {"Username (global_key)", "用户名（global_key）"},
	"profile.name":         {"Name", "名称"},
	"profile.email":        {"Email", "邮箱"},
	"profile.noemail":      {"none", "未设置"},
	"profile.sessions":     {"Sessions", "登录会话"},
	"profile.sessionsHelp": {"Browsers signed in to your account. Revoke any you do not recognise.", "已登录你账户的浏览器。如有不认识的，请撤销。"},
	"password.title":       {"Password", "密码"},
	"password.help":        {"Changing it signs out every other browser signed in to your account.", "修改后，你账户在其他浏览器上的登录会话都会退出。"},
	"password.tokens":      {"Personal access tokens keep working: revoke them on the Access tokens page if they may have leaked.", "个人访问令牌不受影响，仍可使用；如可能已泄露，请在访问令牌页面撤销。"},
	"password.current":     {"Current password", "当前密码"},
	"password.new":         {"New password", "新密码"},
	"password.newHelp":     {"At least %d characters.", "至少 %d 个字符。"},
	"password.confirm":     {"Confirm new password", "确认新密码"},
	"password.submit":      {"Change password", "修改密码"},
	"password.changed":     {"Password changed; your other sessions were signed out.", "密码已修改，你的其他登录会话已退出。"},
	"session.current":      {"this browser", "当前浏览器"},
	"session.signedin":     {"Signed in", "登录于"},
	"session.lastseen":     {"Last seen", "最近活动"},
	"session.revoke":       {"Revoke", "撤销"},
	"session.revoked":      {"The session was revoked.", "会话已撤销。"},
	"session.confirm":      {"Revoke this session? That browser will be signed out.", "确定撤销此会话？该浏览器将退出登录。"},

	"tokens.title":          {"Personal access tokens", "个人访问令牌"},
	"tokens.intro":          {"A token works like an app password: with the scopes you choose it can use the API, and with project:depot clone and push over git.", "个人访问令牌类似某些系统中的应用专用密码。生成后可根据设置的权限访问特定的 API，勾选 project:depot 后可以用于访问代码仓库。"},
	"tokens.new":            {"New token", "新建令牌"},
	"tokens.deleteAll":      {"Delete all", "删除全部"},
	"tokens.deleteAllQ":     {"Delete all %d tokens? Every script and clone that uses them stops working.", "确定删除全部 %d 个令牌？使用它们的脚本和仓库将无法再访问。"},
	"tokens.none":           {"You have no personal access tokens.", "你还没有个人访问令牌。"},
	"tokens.created":        {"Token created. Copy it now: it is shown this once, and a reload shows only its description.", "令牌创建完成。令牌的内容只在刚创建完成时显示，刷新之后即显示为令牌描述。为了安全，请将其复制粘贴至您需要使用的地方，并不要保存副本。"},
	"tokens.regenerated":    {"Token regenerated; the old one no longer works. Copy the new one now: it is shown this once.", "令牌已重新生成，旧令牌已失效。新令牌的内容仅显示这一次，请立即复制。"},
	"tokens.copy":           {"Copy", "复制"},
	"tokens.copied":         {"Copied", "已复制"},
	"tokens.use":            {"Use it as the password of git over HTTP, or in the Authorization header of the API:", "可在 Git HTTP 访问时作为密码使用，或放在 API 请求的 Authorization 头中："},
	"tokens.description":    {"Description", "令牌描述"},
	"tokens.scopes":         {"Scopes", "访问权限"},
	"tokens.validity":       {"Valid", "有效期"},
	"tokens.lastUsed":       {"Last used", "最近使用"},
	"tokens.created.at":     {"Created", "创建时间"},
	"tokens.never":          {"never", "从未使用"},
	"tokens.noExpiry":       {"no expiry", "永不过期"},
	"tokens.from":           {"from %s", "自 %s"},
	"tokens.until":          {"until %s", "至 %s"},
	"tokens.enabled":        {"enabled", "已启用"},
	"tokens.disabled":       {"disabled", "已禁用"},
	"tokens.expired":        {"expired", "已过期"},
	"tokens.edit":           {"Edit", "编辑"},
	"tokens.enable":         {"Enable", "启用"},
	"tokens.disable":        {"Disable", "禁用"},
	"tokens.delete":         {"Delete", "删除"},
	"tokens.deleteQ":        {"Delete the token “%s”? Whatever uses it stops working.", "确定删除令牌“%s”？使用它的地方将无法再访问。"},
	"tokens.regenerate":     {"Regenerate token", "重新生成令牌"},
	"tokens.regenerateQ":    {"Regenerate “%s”? The current secret stops working at once.", "确定重新生成“%s”？当前令牌将立即失效。"},
	"tokens.more":           {"More", "更多"},
	"tokens.deleted":        {"The token was deleted.", "令牌已删除。"},
	"tokens.deletedAll":     {"Deleted %d tokens.", "已删除 %d 个令牌。"},
	"tokens.saved":          {"The token was saved.", "令牌已保存。"},
	"tokens.nowEnabled":     {"The token is enabled.", "令牌已启用。"},
	"tokens.nowDisabled":    {"The token is disabled; it works again once enabled.", "令牌已禁用，启用后可恢复使用。"},
	"tokens.newTitle":       {"New personal access token", "新建个人访问令牌"},
	"tokens.editTitle":      {"Edit token", "编辑令牌"},
	"tokens.descHelp":       {"What is this token for?", "这个令牌的用途？"},
	"tokens.scopesHelp":     {"Choose what the token may do. It can never do more than you can.", "选择此令牌的访问权限。令牌的权限不会超过你自己的权限。"},
	"tokens.ipWhitelist":    {"IP whitelist", "IP 白名单"},
	"tokens.ipHelp":         {"One IPv4 or IPv6 address or CIDR range a line. Empty: any address.", "每行一个 IPv4、IPv6 地址或 CIDR 网段。留空表示不限地址。"},
	"tokens.rules":          {"Git rules", "Git 规则"},
	"tokens.rulesOn":        {"Limit this token inside git", "在 Git 中限制此令牌"},
	"tokens.rulesHelp":      {"Narrow what the token may do with repositories, whatever its scopes allow.", "在权限范围之内，进一步限制令牌对仓库的操作。"},
	"tokens.rulesRepos":     {"Repositories", "仓库"},
	"tokens.rulesReposHelp": {"One OWNER/NAME a line; * matches within a segment (test/*). Empty: every repository.", "每行一个 OWNER/NAME，* 匹配一段之内的任意字符（如 test/*）。留空表示不限仓库。"},
	"tokens.rulesOps":       {"Operations", "操作"},
	"tokens.rulesFetch":     {"fetch (clone, fetch)", "fetch（克隆、拉取）"},
	"tokens.rulesPush":      {"push", "push（推送）"},
	"tokens.rulesRefs":      {"Refs a push may change", "推送可修改的引用"},
	"tokens.rulesRefsHelp":  {"One full ref name a line, * within a segment (refs/heads/ci/*). Empty: every ref.", "每行一个完整引用名，* 匹配一段之内（如 refs/heads/ci/*）。留空表示不限引用。"},
	"tokens.rulesForce":     {"Allow force pushes", "允许强制推送"},
	"tokens.rulesDelete":    {"Allow deleting refs", "允许删除引用"},
	"tokens.expiresAt":      {"Expires", "过期时间"},
	"tokens.expiresHelp":    {"Optional. The token stops working at the end of this day (UTC).", "可选。令牌在该日结束时（UTC）失效。"},
	"tokens.expiresFixed":   {"The expiry is set when the token is created.", "过期时间在创建令牌时设定，无法修改。"},
	"tokens.create":         {"Create token", "新建令牌"},
	"tokens.save":           {"Save", "保存"},
	"tokens.cancel":         {"Cancel", "取消"},
	"tokens.access.rw":      {"read-write", "读写"},
	"tokens.access.r":       {"read", "读"},
	"tokens.regenHelp":      {"If you lost the token, regenerate it: a new secret replaces the old one.", "如果遗失了令牌，可以选择重新生成。"},
	"err.description":       {"Enter a description.", "请填写令牌描述。"},
	"err.descriptionLong":   {"At most 1000 characters, on one line.", "最多 1000 个字符，且不能换行。"},
	"err.scopes":            {"Choose at least one scope.", "请至少选择一项访问权限。"},
	"err.scopesUnknown":     {"Unknown scope.", "未知的权限。"},
	"err.ipWhitelist":       {"%s is not an IP address or CIDR range.", "%s 不是有效的 IP 地址或 CIDR 网段。"},
	"err.ipWhitelistMany":   {"At most 100 entries.", "最多 100 条。"},
	"err.rulesOperations":   {"Choose fetch, push or both.", "请至少选择 fetch 或 push。"},
	"err.expiresAt":         {"Enter a date as YYYY-MM-DD.", "请按 YYYY-MM-DD 格式填写日期。"},
	"err.expiresPast":       {"Choose a day after today.", "请选择今天之后的日期。"},
	"err.passwordCurrent":   {"Enter your current password.", "请输入当前密码。"},
	"err.passwordWrong":     {"The current password is wrong.", "当前密码不正确。"},
	"err.passwordRule":      {"Use at least %d characters, and at most %d bytes.", "请使用至少 %d 个字符，且不超过 %d 字节。"},
	"err.passwordSame":      {"Choose a password other than the current one.", "新密码不能与当前密码相同。"},
	"err.passwordMismatch":  {"The two new passwords differ.", "两次输入的新密码不一致。"},
	"err.form":              {"Please correct the fields marked below.", "请修正下面标出的内容。"},
	"error.title":           {"Something went wrong", "出错了"},
	"error.400":             {"The request was not valid.", "请求无效。"},
	"error.403":             {"This form is out of date or came from another site. Nothing was changed; reload the page and try again.", "表单已过期或来自其他网站，未做任何更改。请刷新页面后重试。"},
	"error.404":             {"There is no such page.", "页面不存在。"},
	"error.429":             {"Too many attempts. Try again later.", "尝试次数过多，请稍后再试。"},
	"error.503":             {"The server cannot store anything at the moment (its disk is full or failing). Nothing was changed; try again later.", "服务器暂时无法保存数据（磁盘已满或出现故障），未做任何更改。请稍后再试。"},
	"error.500":             {"The server failed. Quote this request id when reporting it: %s", "服务器出错。报告问题时请附上请求编号：%s"},
	"error.back":            {"Back to the home page", "返回首页"},
	"repo.new":              {"New repository", "新建仓库"},
	"repo.newTitle":         {"New repository", "新建仓库"},
	"repo.owner":            {"Owner", "所有者"},
	"repo.name":             {"Repository name", "仓库名称"},
	"repo.nameHelp":         {"Letters, digits, '.', '-' and '_'. The clone URL is OWNER/NAME.git.", "可用字母、数字、“.”、“-”和“_”。克隆地址为 OWNER/NAME.git。"},
	"repo.description":      {"Description (optional)", "描述（可选）"},
	"repo.visibility":       {"Visibility", "可见性"},
	"repo.private":          {"Private", "私有"},
	"repo.privateHelp":      {"Only you, or the project's members, can see and clone it.", "仅你或项目成员可以查看和克隆。"},
	"repo.public":           {"Public", "公开"},
	"repo.publicHelp":       {"Anyone can clone it without signing in; only members push.", "任何人无需登录即可克隆，仅成员可以推送。"},
	"repo.create":           {"Create repository", "新建仓库"},
	"repo.badOwner":         {"Choose yourself or a project you administer.", "请选择你自己或你管理的项目。"},
	"repo.nameRequired":     {"Enter a name.", "请填写名称。"},
	"repo.badName":          {"Use letters, digits, '.', '-' and '_' only, not ending in .git.", "只能使用字母、数字、“.”、“-”和“_”，且不能以 .git 结尾。"},
	"repo.exists":           {"That name is taken here (names ignore case).", "该名称已被使用（名称不区分大小写）。"},
	"repo.created":          {"Created %s. Push to it with a personal access token.", "已创建 %s。请使用个人访问令牌推送。"},
	"project.new":           {"New project", "新建项目"},
	"project.newTitle":      {"New project", "新建项目"},
	"project.name":          {"Project name", "项目标识"},
	"project.nameHelp":      {"Its repositories are NAME/REPO. It shares one namespace with users.", "项目下的仓库地址为 NAME/REPO，与用户名共用同一命名空间。"},
	"project.displayName":   {"Display name (optional)", "显示名称（可选）"},
	"project.description":   {"Description (optional)", "描述（可选）"},
	"project.create":        {"Create project", "新建项目"},
	"project.exists":        {"A user or a project has this name.", "该名称已被用户或项目使用。"},
	"project.created":       {"Created the project %s; you are its owner.", "已创建项目 %s，你是其所有者。"},
	"project.refused":       {"Nothing changed: %s", "未做更改：%s"},
	"project.badMember":     {"Give a username and a role.", "请填写用户名并选择角色。"},
	"project.noUser":        {"there is no user %s", "用户 %s 不存在"},
	"project.lastOwner":     {"a project keeps at least one owner", "项目至少需要一位所有者"},
	"project.memberSet":     {"Saved: %s.", "已保存：%s。"},
	"project.memberRemoved": {"Removed %s from the project.", "已将 %s 移出项目。"},
	"project.remove":        {"Remove", "移除"},
	"project.leave":         {"Leave", "退出项目"},
	"project.removeQ":       {"Remove %s from %s?", "确定将 %s 移出 %s？"},
	"ns.repos":              {"Repositories", "仓库"},
	"ns.noRepos":            {"No repositories you can see.", "没有你可以查看的仓库。"},
	"ns.members":            {"Members", "成员"},
	"ns.addMember":          {"Add a member or change a role", "添加成员或修改角色"},
	"ns.user":               {"Username", "用户名"},
	"ns.role":               {"Role", "角色"},
	"ns.save":               {"Save", "保存"},
	"ns.you":                {"you", "你"},
	"ns.project":            {"Project", "项目"},
	"ns.userKind":           {"User", "用户"},
	"ns.yourRole":           {"Your role: %s", "你的角色：%s"},
	"role.owner":            {"owner", "所有者"},
	"role.admin":            {"admin", "管理员"},
	"role.developer":        {"developer", "开发者"},
	"role.viewer":           {"viewer", "查看者"},
	"repo.code":             {"Code", "代码"},
	"repo.commits":          {"Commits", "提交"},
	"repo.path":             {"Path", "路径"},
	"repo.clone":            {"Clone", "克隆"},
	"repo.history":          {"History", "历史"},
	"repo.historyOf":        {"History of", "历史："},
	"repo.files":            {"Files", "文件"},
	"repo.browse":           {"Browse files", "浏览文件"},
	"repo.empty":            {"This repository is empty.", "这是一个空仓库。"},
	"repo.emptyRead":        {"Nothing has been pushed to it yet.", "还没有任何推送。"},
	"repo.pushHelp":         {"Push an existing project to it, with a personal access token as the password:", "使用个人访问令牌作为密码，推送已有项目："},
	"repo.pushToken":        {"Git over HTTP takes a personal access token with the project:depot scope.", "通过 HTTP 使用 Git 需要具有 project:depot 权限的个人访问令牌。"},
	"repo.emptyDir":         {"This directory is empty.", "此目录为空。"},
	"repo.noCommits":        {"No commits.", "没有提交。"},
	"repo.newer":            {"Newer", "较新"},
	"repo.older":            {"Older", "较早"},
	"ref.branch":            {"Branch", "分支"},
	"ref.tag":               {"Tag", "标签"},
	"ref.commit":            {"Commit", "提交"},
	"ref.branches":          {"Branches", "分支"},
	"ref.tags":              {"Tags", "标签"},
	"ref.default":           {"default", "默认"},
	"ref.find":              {"Go to a branch or tag…", "前往分支或标签…"},
	"ref.more":              {"%d more: type a name above.", "另有 %d 个，请在上方输入名称。"},
	"blob.lines":            {"%d lines", "%d 行"},
	"blob.raw":              {"Raw", "原始文件"},
	"blob.download":         {"Download it", "下载文件"},
	"blob.preview":          {"Preview", "预览"},
	"blob.code":             {"Code", "源码"},
	"blob.binary":           {"This is a binary file.", "这是一个二进制文件。"},
	"blob.tooLarge":         {"This file is too large to show here.", "文件太大，无法在此显示。"},
	"commit.authored":       {"committed %s", "提交于 %s"},
	"commit.committedBy":    {"committed by %s", "由 %s 提交"},
	"commit.id":             {"Commit", "提交"},
	"commit.parents":        {"Parents", "父提交"},
	"commit.stat":           {"Changed files: %d", "改动文件：%d 个"},
	"commit.truncated":      {"This commit changed more files than a page shows; the first ones are listed.", "此提交改动的文件过多，仅列出前面的部分。"},
	"status.added":          {"added", "新增"},
	"status.deleted":        {"deleted", "删除"},
	"status.modified":       {"modified", "修改"},
	"diff.binary":           {"Binary file, not shown.", "二进制文件，不显示差异。"},
	"diff.tooLarge":         {"This file is too large to diff here.", "文件太大，不显示差异。"},
	"diff.omitted":          {"This diff is too long to show here.", "差异太长，不在此显示。"},
	"diff.none":             {"No changes to the content (mode only).", "内容无改动（仅权限变化）。"},
	"vis.private":           {"private", "私有"},
	"vis.public":            {"public", "公开"},
}
