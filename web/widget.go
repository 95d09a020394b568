package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// WidgetLanguages are the widget's languages beyond the pages' Languages
// (a shop's site may be in Kazakh).
var WidgetLanguages = []string{"kk"}

// widgetPrefixes are the keys of i18n.json the widget uses: its own
// (widget.*) and those of the parts it shares with the shopper's page.
var widgetPrefixes = []string{"widget.", "band.", "result.", "state.", "error.", "crop.", "unit.", "results.", "drop.", "query.photo"}

var remUnits = regexp.MustCompile(`(\d)rem\b`)

func widgetKey(k string) bool {
	return slices.ContainsFunc(widgetPrefixes, func(p string) bool { return strings.HasPrefix(k, p) })
}

// widgetScript is GET /widget.js: the code shared with the shopper's page
// (static/core.js, static/search.js) and the widget's own (widget/), in one
// function scope, so that the shop's page gains no globals but the custom
// element; its strings in every language, its stylesheet and the shop's
// brand are inside. It is revalidated by ETag (the tag on the shop's site
// keeps its plain name).
func widgetScript(dict map[string]map[string]string, b Brand) (*file, error) {
	strs := map[string]map[string]string{}
	for _, l := range append(slices.Clone(Languages), WidgetLanguages...) {
		strs[l] = map[string]string{}
		for k, v := range dict[l] {
			if widgetKey(k) {
				strs[l][k] = v
			}
		}
		for k := range dict[Languages[0]] {
			if _, ok := strs[l][k]; widgetKey(k) && !ok {
				return nil, fmt.Errorf("i18n.json: the widget's %q strings lack %q", l, k)
			}
		}
	}
	var css []byte
	for _, name := range []string{"static/results.css", "widget/widget.css"} {
		c, err := files.ReadFile(name)
		if err != nil {
			return nil, err
		}
		css = append(css, c...)
	}
	// rem is the page's root font size, which the shop's CSS sets: the
	// widget measures in its own font size instead.
	css = remUnits.ReplaceAll(css, []byte("${1}em"))
	if b.Color != "" { // checked: a hex colour
		css = append(css, ":host{--accent:"+b.Color+";--accent-text:"+textOn(b.Color)+"}\n"...)
	}
	cfg, err := json.Marshal(map[string]any{"i18n": strs, "brand": b, "css": string(css)})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.WriteString("/* lookalike: search by photo on the shop's own site. */\n(function () {\n'use strict';\nvar WIDGET = ")
	buf.Write(cfg)
	buf.WriteString(";\n")
	for _, name := range []string{"static/core.js", "static/search.js", "widget/widget.js"} {
		src, err := files.ReadFile(name)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&buf, "\n// ---- %s ----\n", name)
		buf.Write(src)
	}
	buf.WriteString("\n})();\n")
	return prepare(contentTypes[".js"], buf.Bytes(), "no-cache"), nil
}
