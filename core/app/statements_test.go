package app

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cangqiong/cangqiong/sharding/router"
	"github.com/cangqiong/cangqiong/sharding/schema"
	tidb "github.com/pingcap/tidb/pkg/parser"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver"
)

// statements are the package's statement constants with the plan kind the
// router must give each: keyed (the user's shard), global (the catalog) or
// scatter (the merchant's listing).
var statements = map[string]struct {
	sql  string
	kind router.Kind
}{
	"selectShopSQL":            {selectShopSQL, router.Global},
	"lockShopSQL":              {lockShopSQL, router.Global},
	"selectGlobalSeqSQL":       {selectGlobalSeqSQL, router.Global},
	"selectShardSeqSQL":        {selectShardSeqSQL, router.Local},
	"listShopsSQL":             {listShopsSQL, router.Global},
	"listRegionShopsSQL":       {listRegionShopsSQL, router.Global},
	"insertShopSQL":            {insertShopSQL, router.Global},
	"setShopOpenSQL":           {setShopOpenSQL, router.Global},
	"listCategoriesSQL":        {listCategoriesSQL, router.Global},
	"selectCategorySQL":        {selectCategorySQL, router.Global},
	"insertCategorySQL":        {insertCategorySQL, router.Global},
	"listDishesOnSaleSQL":      {listDishesOnSaleSQL, router.Global},
	"selectDishSQL":            {selectDishSQL, router.Global},
	"lockDishSQL":              {lockDishSQL, router.Global},
	"insertDishSQL":            {insertDishSQL, router.Global},
	"updateDishSQL":            {updateDishSQL, router.Global},
	"deleteDishSQL":            {deleteDishSQL, router.Global},
	"dishesByIDSQL(1)":         {dishesByIDSQL(1), router.Global},
	"dishesByIDSQL(max)":       {dishesByIDSQL(MaxCartLines), router.Global},
	"selectProfileSQL":         {selectProfileSQL, router.Keyed},
	"upsertProfileSQL":         {upsertProfileSQL, router.Keyed},
	"listAddressesSQL":         {listAddressesSQL, router.Keyed},
	"selectAddressSQL":         {selectAddressSQL, router.Keyed},
	"lockAddressSQL":           {lockAddressSQL, router.Keyed},
	"countAddressesSQL":        {countAddressesSQL, router.Keyed},
	"insertAddressSQL":         {insertAddressSQL, router.Keyed},
	"updateAddressSQL":         {updateAddressSQL, router.Keyed},
	"clearDefaultAddressesSQL": {clearDefaultAddressesSQL, router.Keyed},
	"deleteAddressSQL":         {deleteAddressSQL, router.Keyed},
	"listCartSQL":              {listCartSQL, router.Keyed},
	"lockCartSQL":              {lockCartSQL, router.Keyed},
	"upsertCartItemSQL":        {upsertCartItemSQL, router.Keyed},
	"deleteCartItemSQL":        {deleteCartItemSQL, router.Keyed},
	"clearCartSQL":             {clearCartSQL, router.Keyed},
	"claimIdemKeySQL":          {claimIdemKeySQL, router.Keyed},
	"storeIdemRespSQL":         {storeIdemRespSQL, router.Keyed},
	"selectIdemKeySQL":         {selectIdemKeySQL, router.Keyed},
	"insertOrderSQL":           {insertOrderSQL, router.Keyed},
	"selectOrderSQL":           {selectOrderSQL, router.Keyed},
	"lockOrderSQL":             {lockOrderSQL, router.Keyed},
	"setOrderStatusSQL":        {setOrderStatusSQL, router.Keyed},
	"selectOrderStatusSQL":     {selectOrderStatusSQL, router.Keyed},
	"listItemsSQL":             {listItemsSQL, router.Keyed},
	"listPaymentsSQL":          {listPaymentsSQL, router.Keyed},
	"insertPaymentSQL":         {insertPaymentSQL, router.Keyed},
	"insertItemsSQL(1)":        {insertItemsSQL(1), router.Keyed},
	"insertItemsSQL(max)":      {insertItemsSQL(MaxCartLines), router.Keyed},
	"listUserOrdersSQL":        {listUserOrdersSQL, router.Keyed},
	"listUserOrdersAfterSQL":   {listUserOrdersAfterSQL, router.Keyed},
	"listShopOrdersSQL":        {listShopOrdersSQL, router.Scatter},
	"listShopOrdersAfterSQL":   {listShopOrdersAfterSQL, router.Scatter},
}

// shardStatements run on a shard by id, never through the router.
var shardStatements = map[string]string{
	"expireIdemKeysSQL": expireIdemKeysSQL,
}

// TestShardStatementsParse: TiDB's parser reads each as one statement.
func TestShardStatementsParse(t *testing.T) {
	for name, sql := range shardStatements {
		if nodes, _, err := tidb.New().Parse(sql, "", ""); err != nil || len(nodes) != 1 {
			t.Errorf("%s: TiDB's parser: %d statements, %v\n%s", name, len(nodes), err, sql)
		}
	}
}

// TestStatementsParseAndRoute: TiDB's parser reads every statement as one
// statement, and the router plans it where the handler expects it to run.
func TestStatementsParseAndRoute(t *testing.T) {
	r, err := router.New(schema.VSchema(), router.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for name, st := range statements {
		nodes, _, err := tidb.New().Parse(st.sql, "", "")
		if err != nil || len(nodes) != 1 {
			t.Errorf("%s: TiDB's parser: %d statements, %v\n%s", name, len(nodes), err, st.sql)
			continue
		}
		plan, err := r.Plan(st.sql)
		if err != nil || plan.Kind != st.kind {
			t.Errorf("%s: plan %v (%v), want %s", name, plan, err, st.kind)
		}
	}
}

// TestEveryStatementIsListed: every constant ending in SQL in the
// package's source is in statements, so none escapes the check above.
func TestEveryStatementIsListed(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	found := map[string]bool{}
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, path, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range sqlConstants(f) {
			found[name] = true
			if _, ok := statements[name]; !ok && shardStatements[name] == "" {
				t.Errorf("%s: %s is not in the statements table", path, name)
			}
		}
	}
	for name := range shardStatements {
		if !found[name] {
			t.Errorf("the source declares no constant %s", name)
		}
	}
	for name := range statements {
		if !strings.Contains(name, "(") && !found[name] {
			t.Errorf("the source declares no constant %s", name)
		}
	}
}

func sqlConstants(f *ast.File) []string {
	var names []string
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			for _, id := range spec.(*ast.ValueSpec).Names {
				if strings.HasSuffix(id.Name, "SQL") {
					names = append(names, id.Name)
				}
			}
		}
	}
	return names
}
