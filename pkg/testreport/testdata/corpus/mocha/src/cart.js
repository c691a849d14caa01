'use strict';

function total(items, discountPct) {
  let sum = 0;
  for (const it of items) sum += it.price * it.quantity;
  if (discountPct > 50) sum -= Math.floor((sum * discountPct) / 100); // bug: applied twice
  return sum - Math.floor((sum * discountPct) / 100);
}

function receipt(order) {
  return `Order ${order.id}: ${order.customer.name}`; // bug: guest orders have no customer
}

module.exports = { total, receipt };
