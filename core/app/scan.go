package app

// Scan functions read one row of the matching *Cols list (statements.go).

func scanShop(s scanner) (*Shop, error) {
	var v Shop
	err := s.Scan(&v.ID, &v.OwnerUserID, &v.Name, &v.Region, &v.IsOpen, &v.CreatedAt, &v.UpdatedAt)
	return &v, err
}

func scanCategory(s scanner) (*Category, error) {
	var v Category
	err := s.Scan(&v.ID, &v.ShopID, &v.Name, &v.Position)
	return &v, err
}

func scanDish(s scanner) (*Dish, error) {
	var v Dish
	err := s.Scan(&v.ID, &v.ShopID, &v.CategoryID, &v.Name, &v.Description, &v.PriceCents, &v.OnSale, &v.CreatedAt, &v.UpdatedAt)
	return &v, err
}

func scanProfile(s scanner) (*Profile, error) {
	var v Profile
	err := s.Scan(&v.UserID, &v.Name, &v.Email, &v.Phone, &v.Role, &v.CreatedAt, &v.UpdatedAt)
	return &v, err
}

func scanAddress(s scanner) (*Address, error) {
	var v Address
	var user int64
	err := s.Scan(&user, &v.ID, &v.Label, &v.Recipient, &v.Phone, &v.Line1, &v.Line2, &v.City,
		&v.Region, &v.PostalCode, &v.Country, &v.IsDefault, &v.CreatedAt, &v.UpdatedAt)
	return &v, err
}

func scanCartItem(s scanner) (*CartItem, error) {
	var v CartItem
	err := s.Scan(&v.DishID, &v.ShopID, &v.Quantity, &v.CreatedAt, &v.UpdatedAt)
	return &v, err
}

func scanSummary(s scanner) (*OrderSummary, error) {
	var v OrderSummary
	var status string // merged scatter rows scan into *string, not named string types
	err := s.Scan(&v.UserID, &v.ID, &v.ShopID, &status, &v.TotalCents, &v.CreatedAt, &v.UpdatedAt)
	v.Status = Status(status)
	v.Ref = OrderRef{UserID: v.UserID, OrderID: v.ID}.String()
	return &v, err
}

func scanOrder(s scanner) (*Order, error) {
	var v Order
	d := &v.Delivery
	var status string
	err := s.Scan(&v.UserID, &v.ID, &v.ShopID, &status, &v.TotalCents, &v.CreatedAt, &v.UpdatedAt,
		&d.AddressID, &d.Recipient, &d.Phone, &d.Line1, &d.Line2, &d.City, &d.Region, &d.PostalCode, &d.Country)
	v.Status = Status(status)
	v.Ref = OrderRef{UserID: v.UserID, OrderID: v.ID}.String()
	v.Items, v.Payments = []*OrderItem{}, []*Payment{}
	return &v, err
}

func scanItem(s scanner) (*OrderItem, error) {
	var v OrderItem
	err := s.Scan(&v.ID, &v.DishID, &v.Name, &v.PriceCents, &v.Quantity)
	return &v, err
}

func scanPayment(s scanner) (*Payment, error) {
	var v Payment
	err := s.Scan(&v.ID, &v.Kind, &v.Status, &v.AmountCents, &v.ProviderRef, &v.CreatedAt)
	return &v, err
}
