DROP TABLE transit_endpoints;
